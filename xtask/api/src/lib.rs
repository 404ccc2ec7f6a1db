//! The public API of the workspace's published library crates, read from rustdoc JSON.
//!
//! [`Api::of`] runs `cargo rustdoc` with the features docs.rs documents (the crate's
//! `[package.metadata.docs.rs]`) and `--output-format json` (stable rustdoc with
//! `RUSTC_BOOTSTRAP=1`), then walks the crate from its root the way a user reaches it:
//! public modules, re-exports (`pub use`, glob or not, of our own items or another crate's),
//! items, their signatures, fields and variants, inherent methods and trait impls (blanket
//! impls left out: they follow from the trait). Each item is one line with canonical paths,
//! sorted, so moving code around without changing what users see changes nothing.
//!
//! The same walk collects every third-party type (any crate but `std`, `core`, `alloc`) that
//! appears in the API, with the items it appears in, for the allow-list check
//! ([`Api::external_problems`], the crate's `external-types.toml`).
//!
//! `tests/api.rs` snapshots each crate's API with insta: `cargo insta test -p xtask-api`
//! (or `cargo xtask api`) after an API change, review, accept.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use rustdoc_types::{
    Crate, GenericArg, GenericArgs, GenericBound, GenericParamDef, GenericParamDefKind, Generics,
    Id, Impl, Item, ItemEnum, StructKind, Term, TraitBoundModifier, Type, VariantKind, Visibility,
    WherePredicate,
};

/// Crates whose types are the language's own, never "third-party".
const STD_CRATES: [&str; 4] = ["std", "core", "alloc", "proc_macro"];

/// A publishable library crate of the workspace, as `cargo metadata` describes it.
#[derive(Debug, Clone)]
pub struct LibraryCrate {
    /// The package name (`compliance-core`).
    pub name: String,
    /// The library's name (`compliance_core`): the JSON file's name.
    pub lib_name: String,
    /// The package's directory.
    pub dir: PathBuf,
    /// The `cargo` feature arguments docs.rs uses.
    pub feature_args: Vec<String>,
}

/// The workspace's publishable library crates and the build directory for their rustdoc JSON
/// (`docsrs/` in the workspace's target directory).
pub fn library_crates(root: &Path) -> Result<(Vec<LibraryCrate>, PathBuf), String> {
    let out = run(cargo(root).args(["metadata", "--no-deps", "--format-version", "1"]))?;
    let meta: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| format!("cargo metadata: {e}"))?;
    let target_dir =
        PathBuf::from(meta["target_directory"].as_str().unwrap_or("target")).join("docsrs");
    let members: HashSet<&str> = meta["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str())
        .collect();
    let mut crates = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        if !members.contains(package["id"].as_str().unwrap_or("")) {
            continue;
        }
        // `publish = false` is `[]` in cargo metadata; publishable is `null`.
        if package["publish"].as_array().is_some_and(|a| a.is_empty()) {
            continue;
        }
        let Some(lib) = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "lib"))
            })
        else {
            continue;
        };
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or(""));
        let docs = &package["metadata"]["docs"]["rs"];
        let mut feature_args = Vec::new();
        if docs["all-features"].as_bool() == Some(true) {
            feature_args.push("--all-features".to_string());
        }
        if docs["no-default-features"].as_bool() == Some(true) {
            feature_args.push("--no-default-features".to_string());
        }
        let features: Vec<&str> = docs["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .collect();
        if !features.is_empty() {
            feature_args.push("--features".to_string());
            feature_args.push(features.join(","));
        }
        crates.push(LibraryCrate {
            name: package["name"].as_str().unwrap_or("").to_string(),
            lib_name: lib["name"].as_str().unwrap_or("").replace('-', "_"),
            dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
            feature_args,
        });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((crates, target_dir))
}

/// Builds the crate's rustdoc JSON (docs.rs features) and parses it.
pub fn rustdoc_json(root: &Path, krate: &LibraryCrate, target_dir: &Path) -> Result<Crate, String> {
    let mut command = cargo(root);
    command
        .args(["rustdoc", "--lib", "-p", &krate.name])
        .args(&krate.feature_args)
        .args(["--", "-Zunstable-options", "--output-format", "json"])
        // Stable rustdoc writes JSON only behind the unstable flag.
        .env("RUSTC_BOOTSTRAP", "1")
        // RUSTC_BOOTSTRAP changes what some build scripts emit, so these builds get a
        // directory of their own (shared with `release check`'s docs.rs build): rebuilding
        // in the main one would swap libraries under the `cargo test` that runs us.
        .env("CARGO_TARGET_DIR", target_dir);
    run(&mut command)?;
    let path = target_dir
        .join("doc")
        .join(format!("{}.json", krate.lib_name));
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses rustdoc JSON, naming a format mismatch plainly.
pub fn parse(text: &str) -> Result<Crate, String> {
    let probe: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let found = probe["format_version"].as_u64().unwrap_or(0);
    if found != u64::from(rustdoc_types::FORMAT_VERSION) {
        return Err(format!(
            "rustdoc JSON format {found}, but xtask-api reads format {}: set `rustdoc-types` in \
             xtask/api/Cargo.toml to the version whose FORMAT_VERSION is {found}",
            rustdoc_types::FORMAT_VERSION
        ));
    }
    serde_json::from_value(probe).map_err(|e| format!("rustdoc JSON: {e}"))
}

/// A crate's public API: one line per item, and the third-party types it shows.
#[derive(Debug, Clone, Default)]
pub struct Api {
    /// Sorted, one item per line.
    pub items: BTreeSet<String>,
    /// Each third-party type's canonical path, with the API items it appears in.
    pub external: BTreeMap<String, BTreeSet<String>>,
}

impl Api {
    /// The API of a workspace crate, built with docs.rs's features.
    pub fn of(root: &Path, krate: &str) -> Result<Api, String> {
        let (crates, target_dir) = library_crates(root)?;
        let krate = crates
            .iter()
            .find(|c| c.name == krate)
            .ok_or_else(|| format!("`{krate}` is not a publishable library crate"))?;
        let ours: Vec<String> = crates.iter().map(|c| c.lib_name.clone()).collect();
        Ok(Api::walk(&rustdoc_json(root, krate, &target_dir)?, &ours))
    }

    /// Walks parsed rustdoc JSON from the crate root. Types of the crates named in `ours`
    /// (the workspace's own published crates) are not third-party.
    pub fn walk(krate: &Crate, ours: &[String]) -> Api {
        let mut walker = Walker {
            krate,
            ours,
            api: Api::default(),
            context: String::new(),
            seen: HashSet::new(),
        };
        let root_name = krate.index[&krate.root]
            .name
            .clone()
            .unwrap_or_else(|| "crate".to_string());
        walker.module_items(&krate.root, &root_name);
        walker.api
    }

    /// The snapshot text: every line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.items {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Third-party types in the API that `allowed` does not list, and entries of `allowed`
    /// that match nothing (stale). `allowed` holds canonical paths or `prefix::*`.
    pub fn external_problems(&self, allowed: &[String]) -> Vec<String> {
        let matches = |pattern: &str, path: &str| match pattern.strip_suffix("::*") {
            Some(prefix) => path == prefix || path.starts_with(&format!("{prefix}::")),
            None => pattern == path,
        };
        let mut problems = Vec::new();
        for (path, used_in) in &self.external {
            if !allowed.iter().any(|p| matches(p, path)) {
                let first: Vec<&str> = used_in.iter().take(3).map(String::as_str).collect();
                problems.push(format!(
                    "`{path}` is in the public API (in {}{}) but not in external-types.toml",
                    first.join("; "),
                    if used_in.len() > 3 { "; ..." } else { "" }
                ));
            }
        }
        for pattern in allowed {
            if !self.external.keys().any(|path| matches(pattern, path)) {
                problems.push(format!(
                    "`{pattern}` is allowed in external-types.toml but no longer in the API: \
                     remove it"
                ));
            }
        }
        problems
    }
}

/// Reads `allowed_external_types` from an `external-types.toml`.
pub fn read_allow_list(path: &Path) -> Result<Vec<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let list = doc
        .get("allowed_external_types")
        .and_then(|v| v.as_array())
        .ok_or_else(|| format!("{}: no `allowed_external_types = [...]`", path.display()))?;
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{}: entries are strings", path.display()))
        })
        .collect()
}

struct Walker<'a> {
    krate: &'a Crate,
    ours: &'a [String],
    api: Api,
    /// The item being rendered, for saying where a third-party type appears.
    context: String,
    /// Modules already walked (re-exports can reach one twice).
    seen: HashSet<(Id, String)>,
}

impl Walker<'_> {
    fn module_items(&mut self, module: &Id, prefix: &str) {
        if !self.seen.insert((*module, prefix.to_string())) {
            return;
        }
        let Some(ItemEnum::Module(m)) = self.krate.index.get(module).map(|i| &i.inner) else {
            return;
        };
        for child in &m.items {
            self.item(child, prefix, None);
        }
    }

    /// Renders item `id` as `prefix::name` (`name` overrides the item's own, for `pub use
    /// x as name`).
    fn item(&mut self, id: &Id, prefix: &str, name: Option<&str>) {
        let Some(item) = self.krate.index.get(id) else {
            return;
        };
        // Re-exported items keep their own visibility (pub in a private module): the `use`
        // was public, which is what counts.
        if name.is_none() && !matches!(item.visibility, Visibility::Public) {
            return;
        }
        // A `use` item has no name of its own: the name is in the `use`.
        if let ItemEnum::Use(u) = &item.inner {
            self.reexport(u, prefix);
            return;
        }
        let Some(own) = name.or(item.name.as_deref()) else {
            return;
        };
        let path = format!("{prefix}::{own}");
        self.context = path.clone();
        let attrs = attrs(item);
        match &item.inner {
            ItemEnum::Module(_) => {
                self.line(format!("pub mod {path}"));
                self.module_items(id, &path);
            }
            ItemEnum::Struct(s) => {
                let generics = self.generics(&s.generics);
                let where_ = self.where_clause(&s.generics);
                let shape = match &s.kind {
                    StructKind::Unit => String::new(),
                    StructKind::Tuple(fields) => {
                        let fields: Vec<String> = fields
                            .iter()
                            .map(|f| self.tuple_field(f.as_ref()))
                            .collect();
                        format!("({})", fields.join(", "))
                    }
                    StructKind::Plain {
                        fields,
                        has_stripped_fields,
                    } => {
                        for field in fields {
                            self.field(field, &path);
                        }
                        if *has_stripped_fields {
                            " { /* private fields */ }".to_string()
                        } else {
                            String::new()
                        }
                    }
                };
                self.line(format!("{attrs}pub struct {path}{generics}{shape}{where_}"));
                self.impls(&s.impls, &path);
            }
            ItemEnum::Union(u) => {
                let generics = self.generics(&u.generics);
                for field in &u.fields {
                    self.field(field, &path);
                }
                self.line(format!("{attrs}pub union {path}{generics}"));
                self.impls(&u.impls, &path);
            }
            ItemEnum::Enum(e) => {
                let generics = self.generics(&e.generics);
                let where_ = self.where_clause(&e.generics);
                self.line(format!("{attrs}pub enum {path}{generics}{where_}"));
                for variant in &e.variants {
                    self.variant(variant, &path);
                }
                self.impls(&e.impls, &path);
            }
            ItemEnum::Function(f) => {
                let line = self.function(&path, f, "pub ");
                self.line(format!("{attrs}{line}"));
            }
            ItemEnum::Trait(t) => {
                let generics = self.generics(&t.generics);
                let where_ = self.where_clause(&t.generics);
                let bounds = self.bounds(&t.bounds);
                let bounds = if bounds.is_empty() {
                    String::new()
                } else {
                    format!(": {bounds}")
                };
                let unsafe_ = if t.is_unsafe { "unsafe " } else { "" };
                let dyn_ = if t.is_dyn_compatible {
                    ""
                } else {
                    " (not dyn-compatible)"
                };
                self.line(format!(
                    "{attrs}pub {unsafe_}trait {path}{generics}{bounds}{where_}{dyn_}"
                ));
                for member in &t.items {
                    self.trait_member(member, &path);
                }
            }
            ItemEnum::TypeAlias(t) => {
                let generics = self.generics(&t.generics);
                let ty = self.ty(&t.type_);
                self.line(format!("{attrs}pub type {path}{generics} = {ty}"));
            }
            ItemEnum::Constant { type_, .. } => {
                let ty = self.ty(type_);
                self.line(format!("{attrs}pub const {path}: {ty}"));
            }
            ItemEnum::Static(s) => {
                let ty = self.ty(&s.type_);
                let mut_ = if s.is_mutable { "mut " } else { "" };
                self.line(format!("{attrs}pub static {mut_}{path}: {ty}"));
            }
            ItemEnum::Macro(_) => self.line(format!("{attrs}macro {path}!")),
            ItemEnum::ProcMacro(_) => self.line(format!("{attrs}proc-macro {path}")),
            ItemEnum::TraitAlias(t) => {
                let bounds = self.bounds(&t.params);
                self.line(format!("pub trait {path} = {bounds}"));
            }
            ItemEnum::ExternCrate { name, .. } => {
                self.line(format!("pub extern crate {name} as {path}"));
            }
            _ => {}
        }
    }

    fn reexport(&mut self, u: &rustdoc_types::Use, prefix: &str) {
        let target = u.id.as_ref();
        match target.and_then(|id| self.krate.index.get(id)) {
            Some(item) if u.is_glob => {
                if let ItemEnum::Module(_) = item.inner {
                    self.module_items(&item.id, prefix);
                }
            }
            Some(item) => {
                let id = item.id;
                self.item(&id, prefix, Some(&u.name));
            }
            None => {
                // Another crate's item (or module), re-exported as is.
                let source = target
                    .and_then(|id| self.canonical(id))
                    .unwrap_or_else(|| u.source.clone());
                let first = u.source.split("::").next().unwrap_or("");
                let external = match target.filter(|id| self.krate.paths.contains_key(id)) {
                    Some(id) => self.is_external(id),
                    None => !STD_CRATES.contains(&first) && !self.ours.iter().any(|o| o == first),
                };
                let glob = if u.is_glob { "::*" } else { "" };
                let line = if !u.is_glob && source.rsplit("::").next() != Some(u.name.as_str()) {
                    format!("pub use {source} as {prefix}::{}", u.name)
                } else {
                    format!("pub use {source}{glob} (in {prefix})")
                };
                if external {
                    self.context = format!("{prefix}::{}", u.name);
                    self.record_external(source);
                }
                self.line(line);
            }
        }
    }

    fn line(&mut self, line: String) {
        self.api.items.insert(line);
    }

    fn field(&mut self, id: &Id, owner: &str) {
        let Some(item) = self.krate.index.get(id) else {
            return;
        };
        if !matches!(item.visibility, Visibility::Public) {
            return;
        }
        if let (Some(name), ItemEnum::StructField(ty)) = (&item.name, &item.inner) {
            self.context = format!("{owner}::{name}");
            let ty = self.ty(ty);
            self.line(format!("pub {owner}::{name}: {ty}"));
        }
    }

    fn tuple_field(&mut self, id: Option<&Id>) -> String {
        match id.and_then(|id| self.krate.index.get(id)) {
            Some(Item {
                inner: ItemEnum::StructField(ty),
                visibility: Visibility::Public,
                ..
            }) => format!("pub {}", self.ty(ty)),
            _ => "_".to_string(),
        }
    }

    fn variant(&mut self, id: &Id, owner: &str) {
        let Some(item) = self.krate.index.get(id) else {
            return;
        };
        let (Some(name), ItemEnum::Variant(v)) = (&item.name, &item.inner) else {
            return;
        };
        let path = format!("{owner}::{name}");
        self.context = path.clone();
        let shape = match &v.kind {
            VariantKind::Plain => String::new(),
            VariantKind::Tuple(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(
                        |f| match f.as_ref().and_then(|id| self.krate.index.get(id)) {
                            Some(Item {
                                inner: ItemEnum::StructField(ty),
                                ..
                            }) => self.ty(ty),
                            _ => "_".to_string(),
                        },
                    )
                    .collect();
                format!("({})", fields.join(", "))
            }
            VariantKind::Struct {
                fields,
                has_stripped_fields,
            } => {
                let mut shown = Vec::new();
                for field in fields {
                    if let Some(Item {
                        name: Some(field_name),
                        inner: ItemEnum::StructField(ty),
                        ..
                    }) = self.krate.index.get(field)
                    {
                        shown.push(format!("{field_name}: {}", self.ty(ty)));
                    }
                }
                if *has_stripped_fields {
                    shown.push("..".to_string());
                }
                format!(" {{ {} }}", shown.join(", "))
            }
        };
        let discriminant = v
            .discriminant
            .as_ref()
            .map(|d| format!(" = {}", d.value))
            .unwrap_or_default();
        self.line(format!("{}{path}{shape}{discriminant}", attrs(item)));
    }

    fn trait_member(&mut self, id: &Id, owner: &str) {
        let Some(item) = self.krate.index.get(id) else {
            return;
        };
        let Some(name) = &item.name else { return };
        let path = format!("{owner}::{name}");
        self.context = path.clone();
        let line = match &item.inner {
            ItemEnum::Function(f) => {
                let provided = if f.has_body { " (provided)" } else { "" };
                format!("{}{provided}", self.function(&path, f, ""))
            }
            ItemEnum::AssocType { bounds, type_, .. } => {
                let bounds = self.bounds(bounds);
                let bounds = if bounds.is_empty() {
                    String::new()
                } else {
                    format!(": {bounds}")
                };
                let default = type_
                    .as_ref()
                    .map(|t| format!(" = {}", self.ty(t)))
                    .unwrap_or_default();
                format!("type {path}{bounds}{default}")
            }
            ItemEnum::AssocConst { type_, value } => {
                let default = value
                    .as_ref()
                    .map(|v| format!(" = {v}"))
                    .unwrap_or_default();
                format!("const {path}: {}{default}", self.ty(type_))
            }
            _ => return,
        };
        self.line(line);
    }

    fn impls(&mut self, impls: &[Id], owner: &str) {
        for id in impls {
            let Some(Item {
                inner: ItemEnum::Impl(imp),
                ..
            }) = self.krate.index.get(id)
            else {
                continue;
            };
            if imp.blanket_impl.is_some() {
                continue;
            }
            self.context = owner.to_string();
            match &imp.trait_ {
                None => self.inherent(imp, owner),
                Some(trait_) => {
                    let generics = self.generics(&imp.generics);
                    let where_ = self.where_clause(&imp.generics);
                    let trait_ = self.path(trait_);
                    let not = if imp.is_negative { "!" } else { "" };
                    let unsafe_ = if imp.is_unsafe { "unsafe " } else { "" };
                    let for_ = self.ty(&imp.for_);
                    let mut assoc = Vec::new();
                    for member in &imp.items {
                        if let Some(Item {
                            name: Some(name),
                            inner: ItemEnum::AssocType { type_: Some(t), .. },
                            ..
                        }) = self.krate.index.get(member)
                        {
                            assoc.push(format!("type {name} = {}", self.ty(t)));
                        }
                    }
                    let assoc = if assoc.is_empty() {
                        String::new()
                    } else {
                        format!(" {{ {} }}", assoc.join("; "))
                    };
                    self.line(format!(
                        "{unsafe_}impl{generics} {not}{trait_} for {for_}{where_}{assoc}"
                    ));
                }
            }
        }
    }

    fn inherent(&mut self, imp: &Impl, owner: &str) {
        for member in &imp.items {
            let Some(item) = self.krate.index.get(member) else {
                continue;
            };
            if !matches!(item.visibility, Visibility::Public) {
                continue;
            }
            let Some(name) = &item.name else { continue };
            let path = format!("{owner}::{name}");
            self.context = path.clone();
            let line = match &item.inner {
                ItemEnum::Function(f) => self.function(&path, f, "pub "),
                ItemEnum::AssocConst { type_, .. } => {
                    format!("pub const {path}: {}", self.ty(type_))
                }
                _ => continue,
            };
            let line = format!("{}{line}", attrs(item));
            self.line(line);
        }
    }

    fn function(&mut self, path: &str, f: &rustdoc_types::Function, vis: &str) -> String {
        let mut head = String::from(vis);
        if f.header.is_const {
            head.push_str("const ");
        }
        if f.header.is_async {
            head.push_str("async ");
        }
        if f.header.is_unsafe {
            head.push_str("unsafe ");
        }
        let generics = self.generics(&f.generics);
        let inputs: Vec<String> = f
            .sig
            .inputs
            .iter()
            .map(|(name, ty)| format!("{name}: {}", self.ty(ty)))
            .collect();
        let output = self.output(f.sig.output.as_ref());
        let where_ = self.where_clause(&f.generics);
        format!(
            "{head}fn {path}{generics}({}){output}{where_}",
            inputs.join(", ")
        )
    }

    /// ` -> T` for a return type, nothing for `()`.
    fn output(&mut self, output: Option<&Type>) -> String {
        output
            .map(|t| format!(" -> {}", self.ty(t)))
            .unwrap_or_default()
    }

    fn generics(&mut self, g: &Generics) -> String {
        let params: Vec<String> = g
            .params
            .iter()
            .filter(|p| {
                !matches!(
                    p.kind,
                    GenericParamDefKind::Type {
                        is_synthetic: true,
                        ..
                    }
                )
            })
            .map(|p| self.param(p))
            .collect();
        if params.is_empty() {
            String::new()
        } else {
            format!("<{}>", params.join(", "))
        }
    }

    fn param(&mut self, p: &GenericParamDef) -> String {
        match &p.kind {
            GenericParamDefKind::Lifetime { outlives } if outlives.is_empty() => p.name.clone(),
            GenericParamDefKind::Lifetime { outlives } => {
                format!("{}: {}", p.name, outlives.join(" + "))
            }
            GenericParamDefKind::Type {
                bounds, default, ..
            } => {
                let mut out = p.name.clone();
                let bounds = self.bounds(bounds);
                if !bounds.is_empty() {
                    let _ = write!(out, ": {bounds}");
                }
                if let Some(default) = default {
                    let _ = write!(out, " = {}", self.ty(default));
                }
                out
            }
            GenericParamDefKind::Const { type_, default } => {
                let mut out = format!("const {}: {}", p.name, self.ty(type_));
                if let Some(default) = default {
                    let _ = write!(out, " = {default}");
                }
                out
            }
        }
    }

    fn where_clause(&mut self, g: &Generics) -> String {
        let predicates: Vec<String> = g
            .where_predicates
            .iter()
            .map(|p| match p {
                WherePredicate::BoundPredicate {
                    type_,
                    bounds,
                    generic_params,
                } => {
                    let hrtb = self.hrtb(generic_params);
                    format!("{hrtb}{}: {}", self.ty(type_), self.bounds(bounds))
                }
                WherePredicate::LifetimePredicate { lifetime, outlives } => {
                    format!("{lifetime}: {}", outlives.join(" + "))
                }
                WherePredicate::EqPredicate { lhs, rhs } => {
                    format!("{} == {}", self.ty(lhs), self.term(rhs))
                }
            })
            .collect();
        if predicates.is_empty() {
            String::new()
        } else {
            format!(" where {}", predicates.join(", "))
        }
    }

    fn hrtb(&mut self, params: &[GenericParamDef]) -> String {
        if params.is_empty() {
            String::new()
        } else {
            let params: Vec<String> = params.iter().map(|p| self.param(p)).collect();
            format!("for<{}> ", params.join(", "))
        }
    }

    fn bounds(&mut self, bounds: &[GenericBound]) -> String {
        let shown: Vec<String> = bounds
            .iter()
            .map(|b| match b {
                GenericBound::TraitBound {
                    trait_,
                    generic_params,
                    modifier,
                } => {
                    let modifier = match modifier {
                        TraitBoundModifier::None => "",
                        TraitBoundModifier::Maybe => "?",
                        TraitBoundModifier::MaybeConst => "~const ",
                    };
                    let hrtb = self.hrtb(generic_params);
                    format!("{hrtb}{modifier}{}", self.path(trait_))
                }
                GenericBound::Outlives(lifetime) => lifetime.clone(),
                GenericBound::Use(args) => {
                    let args: Vec<String> = args
                        .iter()
                        .map(|a| match a {
                            rustdoc_types::PreciseCapturingArg::Lifetime(l) => l.clone(),
                            rustdoc_types::PreciseCapturingArg::Param(p) => p.clone(),
                        })
                        .collect();
                    format!("use<{}>", args.join(", "))
                }
            })
            .collect();
        shown.join(" + ")
    }

    fn term(&mut self, term: &Term) -> String {
        match term {
            Term::Type(t) => self.ty(t),
            Term::Constant(c) => c.expr.clone(),
        }
    }

    fn ty(&mut self, ty: &Type) -> String {
        match ty {
            Type::ResolvedPath(p) => self.path(p),
            Type::DynTrait(d) => {
                let mut parts: Vec<String> = d
                    .traits
                    .iter()
                    .map(|t| {
                        let hrtb = self.hrtb(&t.generic_params);
                        format!("{hrtb}{}", self.path(&t.trait_))
                    })
                    .collect();
                if let Some(lifetime) = &d.lifetime {
                    parts.push(lifetime.clone());
                }
                format!("dyn {}", parts.join(" + "))
            }
            Type::Generic(name) | Type::Primitive(name) => name.clone(),
            Type::FunctionPointer(f) => {
                let hrtb = self.hrtb(&f.generic_params);
                let inputs: Vec<String> = f.sig.inputs.iter().map(|(_, t)| self.ty(t)).collect();
                let output = self.output(f.sig.output.as_ref());
                format!("{hrtb}fn({}){output}", inputs.join(", "))
            }
            Type::Tuple(types) => {
                let types: Vec<String> = types.iter().map(|t| self.ty(t)).collect();
                if types.len() == 1 {
                    format!("({},)", types[0])
                } else {
                    format!("({})", types.join(", "))
                }
            }
            Type::Slice(t) => format!("[{}]", self.ty(t)),
            Type::Array { type_, len } => format!("[{}; {len}]", self.ty(type_)),
            Type::Pat { type_, .. } => self.ty(type_),
            Type::ImplTrait(bounds) => format!("impl {}", self.bounds(bounds)),
            Type::Infer => "_".to_string(),
            Type::RawPointer { is_mutable, type_ } => {
                let kind = if *is_mutable { "mut" } else { "const" };
                format!("*{kind} {}", self.ty(type_))
            }
            Type::BorrowedRef {
                lifetime,
                is_mutable,
                type_,
            } => {
                let lifetime = lifetime
                    .as_ref()
                    .map(|l| format!("{l} "))
                    .unwrap_or_default();
                let mut_ = if *is_mutable { "mut " } else { "" };
                format!("&{lifetime}{mut_}{}", self.ty(type_))
            }
            Type::QualifiedPath {
                name,
                args,
                self_type,
                trait_,
            } => {
                let self_type = self.ty(self_type);
                let args = args.as_deref().map(|a| self.args(a)).unwrap_or_default();
                match trait_ {
                    Some(t) => format!("<{self_type} as {}>::{name}{args}", self.path(t)),
                    None => format!("{self_type}::{name}{args}"),
                }
            }
        }
    }

    /// A path with its arguments, canonical where rustdoc knows the item, and recorded when
    /// it belongs to a third-party crate.
    fn path(&mut self, p: &rustdoc_types::Path) -> String {
        let name = match self.canonical(&p.id) {
            Some(canonical) => {
                if self.is_external(&p.id) {
                    self.record_external(canonical.clone());
                }
                canonical
            }
            None => p.path.clone(),
        };
        let args = p.args.as_deref().map(|a| self.args(a)).unwrap_or_default();
        format!("{name}{args}")
    }

    fn args(&mut self, args: &GenericArgs) -> String {
        match args {
            GenericArgs::AngleBracketed { args, constraints } => {
                let mut shown: Vec<String> = args
                    .iter()
                    .map(|a| match a {
                        GenericArg::Lifetime(l) => l.clone(),
                        GenericArg::Type(t) => self.ty(t),
                        GenericArg::Const(c) => c.expr.clone(),
                        GenericArg::Infer => "_".to_string(),
                    })
                    .collect();
                for c in constraints {
                    let args = c.args.as_deref().map(|a| self.args(a)).unwrap_or_default();
                    shown.push(match &c.binding {
                        rustdoc_types::AssocItemConstraintKind::Equality(term) => {
                            format!("{}{args} = {}", c.name, self.term(term))
                        }
                        rustdoc_types::AssocItemConstraintKind::Constraint(bounds) => {
                            format!("{}{args}: {}", c.name, self.bounds(bounds))
                        }
                    });
                }
                if shown.is_empty() {
                    String::new()
                } else {
                    format!("<{}>", shown.join(", "))
                }
            }
            GenericArgs::Parenthesized { inputs, output } => {
                let inputs: Vec<String> = inputs.iter().map(|t| self.ty(t)).collect();
                let output = self.output(output.as_ref());
                format!("({}){output}", inputs.join(", "))
            }
            GenericArgs::ReturnTypeNotation => "(..)".to_string(),
        }
    }

    fn canonical(&self, id: &Id) -> Option<String> {
        self.krate.paths.get(id).map(|s| s.path.join("::"))
    }

    fn is_external(&self, id: &Id) -> bool {
        let Some(summary) = self.krate.paths.get(id) else {
            return false;
        };
        if summary.crate_id == 0 {
            return false;
        }
        self.krate
            .external_crates
            .get(&summary.crate_id)
            .is_some_and(|c| !STD_CRATES.contains(&c.name.as_str()) && !self.ours.contains(&c.name))
    }

    fn record_external(&mut self, path: String) {
        let context = self.context.clone();
        self.api.external.entry(path).or_default().insert(context);
    }
}

/// The attributes that change what users may do: `#[non_exhaustive]`, deprecation.
fn attrs(item: &Item) -> String {
    let mut out = String::new();
    if item
        .attrs
        .iter()
        .any(|a| matches!(a, rustdoc_types::Attribute::NonExhaustive))
    {
        out.push_str("#[non_exhaustive] ");
    }
    if item.deprecation.is_some() {
        out.push_str("#[deprecated] ");
    }
    out
}

fn cargo(dir: &Path) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(dir);
    command
}

fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not run {shown}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{shown} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
