//! Provider enums that stay open: known values as variants, anything else kept verbatim.
//!
//! Providers add statuses without notice. An enum declared with [`open_enum!`](macro@crate::open_enum)
//! parses every string: the known ones into their variant, anything else into
//! `Unknown(String)`, which serialises back to exactly what was received. The generated enum
//! is `#[non_exhaustive]`, so adding a known variant later is not a breaking change for
//! callers either.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Declares an open provider enum.
///
/// ```
/// compliance_core::open_enum! {
///     /// Status of a questionnaire link.
///     pub enum LinkStatus {
///         /// Created, not started.
///         Init = "init",
///         /// Completed.
///         Completed = "completed",
///     }
/// }
///
/// let s: LinkStatus = serde_json::from_str(r#""archived""#).unwrap();
/// assert_eq!(s, LinkStatus::Unknown("archived".into()));
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#""archived""#);
/// assert_eq!("init".parse::<LinkStatus>().unwrap(), LinkStatus::Init);
/// assert_eq!(LinkStatus::Completed.as_str(), "completed");
/// assert_eq!(LinkStatus::Completed.to_string(), "completed");
/// ```
///
/// Generated: the variants plus `Unknown(String)`; `as_str`, `is_known`, `KNOWN` (the
/// wire strings of the known variants); `Display`, `FromStr` (infallible), `From<&str>`,
/// `From<String>`, `Serialize`, `Deserialize` (no allocation for known values), `Clone`,
/// `Debug`, `PartialEq`, `Eq`, `Hash`.
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know, kept exactly as received.
            Unknown(::std::string::String),
        }

        impl $name {
            /// The wire strings of the known variants.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The value as the provider spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(s) => s.as_str(),
                }
            }

            /// Whether this is one of the known variants.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            fn __from_known(s: &str) -> ::std::option::Option<Self> {
                match s {
                    $( $wire => ::std::option::Option::Some(Self::$variant), )+
                    _ => ::std::option::Option::None,
                }
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::__from_known(s).unwrap_or_else(|| Self::Unknown(s.to_owned()))
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(s: ::std::string::String) -> Self {
                Self::__from_known(&s).unwrap_or(Self::Unknown(s))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                ::std::result::Result::Ok(Self::from(s))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $crate::open_enum::deserialize_open(
                    deserializer,
                    stringify!($name),
                    Self::__from_known,
                    Self::Unknown,
                )
            }
        }
    };
}

/// Shared deserialisation for [`open_enum!`](macro@crate::open_enum) types. Not for direct use.
#[doc(hidden)]
pub fn deserialize_open<'de, D, T>(
    deserializer: D,
    name: &'static str,
    known: fn(&str) -> Option<T>,
    unknown: fn(String) -> T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct OpenVisitor<T> {
        name: &'static str,
        known: fn(&str) -> Option<T>,
        unknown: fn(String) -> T,
    }

    impl<T> Visitor<'_> for OpenVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a string ({})", self.name)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok((self.known)(v).unwrap_or_else(|| (self.unknown)(v.to_owned())))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
            match (self.known)(&v) {
                Some(t) => Ok(t),
                None => Ok((self.unknown)(v)),
            }
        }
    }

    deserializer.deserialize_str(OpenVisitor {
        name,
        known,
        unknown,
    })
}

#[cfg(test)]
mod tests {
    crate::open_enum! {
        /// Test enum.
        pub enum Colour {
            /// Red.
            Red = "RED",
            /// Dark blue.
            DarkBlue = "DARK_BLUE",
        }
    }

    #[test]
    fn known_and_unknown_values_round_trip() {
        for (json, expected) in [
            (r#""RED""#, Colour::Red),
            (r#""DARK_BLUE""#, Colour::DarkBlue),
            (r#""ULTRAVIOLET""#, Colour::Unknown("ULTRAVIOLET".into())),
            (r#""red""#, Colour::Unknown("red".into())),
        ] {
            let parsed: Colour = serde_json::from_str(json).unwrap();
            assert_eq!(parsed, expected);
            assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        }
        assert!(!Colour::from("x").is_known());
        assert_eq!(Colour::KNOWN, &["RED", "DARK_BLUE"]);
        assert_eq!(format!("{}", Colour::DarkBlue), "DARK_BLUE");
        assert!(serde_json::from_str::<Colour>("3").is_err());
    }
}
