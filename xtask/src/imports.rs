//! No import circles: no file of a crate imports, through any chain of
//! files, a file that imports it back. Run by `cargo xtask lint` and by
//! `cargo xtask test` next to fmt and clippy.
//!
//! Every crate root of the workspace (`src/lib.rs`, `src/main.rs`,
//! `src/bin/*.rs`) and the files its `mod` declarations reach are parsed
//! with `syn`. File A *imports* file B when A names something B defines:
//!
//! - in a `use` (a re-export, `pub use`, counts only where the file itself
//!   uses the name: a `mod.rs` that lists and re-exports its parts imports
//!   nothing by doing so);
//! - in a path anywhere in its code, macro arguments included: `crate::…`,
//!   `super::…`, `self::…`, or a path that starts with a module or a name
//!   the file has in scope (`entry::room_key(…)`).
//!
//! Names are followed through re-exports to the file that defines them, so
//! `use crate::AppState` imports `state.rs`, not `lib.rs`. The crate root
//! itself (`lib.rs`, `main.rs`) is no part of a circle: it declares every
//! module, and what it defines (a `Result` alias, a task runner's helpers)
//! is the crate's common vocabulary; every other file is, a `mod.rs`
//! included. Code under
//! `#[cfg(test)]` is left out: a unit test may borrow a sibling's helper
//! without the code depending on it. A *circle* is a set of two or more
//! files that all reach each other (a strongly connected component); each
//! is reported with the names every file of it takes from the others.
//!
//! Method calls are not paths, so `impl` blocks split across files (the
//! room actor's `cluster.rs`) are seen only through the names they use.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// The crates of the workspace whose sources are checked, as folders under
/// the repository root: every folder with a `Cargo.toml` and a `src/`.
pub(crate) fn crate_dirs(root: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = fs::read_dir(root).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|dir| dir.join("Cargo.toml").is_file() && dir.join("src").is_dir())
        .filter(|dir| dir.file_name().is_some_and(|n| n != "target"))
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Checks every crate under `root`; `Err` lists every circle found.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let mut report = String::new();
    let mut files = 0;
    for dir in crate_dirs(root)? {
        for crate_root in crate_roots(&dir.join("src")) {
            let graph = Graph::load(&crate_root)?;
            files += graph.files.len();
            for circle in graph.circles() {
                report.push_str(&circle.describe(root));
            }
        }
    }
    if report.is_empty() {
        println!("no import circles ({files} files)");
        Ok(())
    } else {
        Err(format!("import circles between files:\n{report}"))
    }
}

/// The roots of the crates (library, binaries) whose sources are in `src`.
fn crate_roots(src: &Path) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|name| src.join(name))
        .filter(|path| path.is_file())
        .collect();
    if let Ok(bins) = fs::read_dir(src.join("bin")) {
        let mut bins: Vec<PathBuf> = bins
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    roots
}

/// One module of a crate: a file, or an inline `mod { … }` inside one.
#[derive(Debug, Default)]
struct Module {
    /// Index of the file it is written in.
    file: usize,
    /// The enclosing module (`None` for the crate root).
    parent: Option<usize>,
    /// Its submodules by name.
    children: BTreeMap<String, usize>,
    /// The names its items define (functions, types, constants, macros…).
    items: BTreeSet<String>,
    /// Names brought in by `use`, and the path each stands for.
    aliases: BTreeMap<String, Vec<String>>,
    /// Paths of its glob imports (`use x::*`).
    globs: Vec<Vec<String>>,
}

/// A path named somewhere in a file, to be resolved once every module is known.
#[derive(Debug)]
struct Reference {
    /// The module whose scope the path is read in.
    module: usize,
    /// Its segments.
    path: Vec<String>,
    /// For a re-export (`pub use`): the name it exports, which the file
    /// must use itself for the re-export to count.
    exported_as: Option<String>,
}

/// The files of one crate and what they import from each other.
#[derive(Debug, Default)]
struct Graph {
    /// Every file, by index.
    files: Vec<PathBuf>,
    /// Every module; index 0 is the crate root.
    modules: Vec<Module>,
    references: Vec<Reference>,
    /// Identifiers each file uses outside its `use` items (by file index).
    used: Vec<BTreeSet<String>>,
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A module of the crate.
    Module(usize),
    /// An item a module of the crate defines, and its name there.
    Item(usize, String),
    /// Something outside the crate (or not found: a local variable, a
    /// generic parameter, a macro's own name).
    Outside,
}

/// Files that import each other, and the names each takes.
#[derive(Debug)]
pub(crate) struct Circle {
    /// `(from, to, names)` for every import between two files of the circle.
    edges: Vec<(PathBuf, PathBuf, BTreeSet<String>)>,
}

impl Circle {
    fn describe(&self, root: &Path) -> String {
        let show = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        let mut files: BTreeSet<String> = BTreeSet::new();
        for (from, to, _) in &self.edges {
            files.insert(show(from));
            files.insert(show(to));
        }
        let mut text = format!(
            "circle of {}: {}\n",
            files.len(),
            files.into_iter().collect::<Vec<_>>().join(", ")
        );
        for (from, to, names) in &self.edges {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let _ = writeln!(
                text,
                "  {} -> {}: {}",
                show(from),
                show(to),
                names.join(", ")
            );
        }
        text
    }
}

/// Whether `attrs` hold `#[cfg(test)]` (or a `cfg` naming `test` alone).
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .meta
                .require_list()
                .is_ok_and(|list| list.tokens.to_string().trim() == "test")
    })
}

impl Graph {
    /// Parses the crate whose root is `root_file`.
    fn load(root_file: &Path) -> Result<Self, String> {
        let mut graph = Self::default();
        graph.modules.push(Module::default());
        graph.load_file(root_file, 0, true)?;
        Ok(graph)
    }

    /// Reads `path` as the body of module `module`; `owns_dir` when its
    /// submodules' files sit beside it (a crate root or a `mod.rs`).
    fn load_file(&mut self, path: &Path, module: usize, owns_dir: bool) -> Result<(), String> {
        let text =
            fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file = syn::parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let index = self.files.len();
        self.files.push(path.to_path_buf());
        self.used.push(BTreeSet::new());
        self.modules[module].file = index;
        let dir = if owns_dir {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            let stem = path
                .file_stem()
                .map(|s| s.to_os_string())
                .unwrap_or_default();
            path.parent().map(|p| p.join(stem)).unwrap_or_default()
        };
        self.load_items(&file.items, module, &dir)
    }

    /// Records the items of `module`, whose file-backed submodules live in `dir`.
    fn load_items(&mut self, items: &[syn::Item], module: usize, dir: &Path) -> Result<(), String> {
        for item in items {
            match item {
                syn::Item::Mod(m) if is_test(&m.attrs) => {}
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    let child = self.modules.len();
                    self.modules.push(Module {
                        file: self.modules[module].file,
                        parent: Some(module),
                        ..Module::default()
                    });
                    self.modules[module].children.insert(name.clone(), child);
                    match &m.content {
                        Some((_, inner)) => self.load_items(inner, child, &dir.join(&name))?,
                        None => {
                            let flat = dir.join(format!("{name}.rs"));
                            let nested = dir.join(&name).join("mod.rs");
                            if flat.is_file() {
                                self.load_file(&flat, child, false)?;
                            } else if nested.is_file() {
                                self.load_file(&nested, child, true)?;
                            } else {
                                return Err(format!(
                                    "`mod {name};` in {}: neither {} nor {} exists",
                                    dir.display(),
                                    flat.display(),
                                    nested.display()
                                ));
                            }
                        }
                    }
                }
                syn::Item::Use(u) if is_test(&u.attrs) => {}
                syn::Item::Use(u) => {
                    let public = !matches!(u.vis, syn::Visibility::Inherited);
                    let mut leaves = Vec::new();
                    flatten(&u.tree, &mut Vec::new(), &mut leaves);
                    for leaf in leaves {
                        match leaf {
                            Leaf::Name { alias, path } => {
                                if let Some(alias) = &alias {
                                    self.modules[module]
                                        .aliases
                                        .insert(alias.clone(), path.clone());
                                }
                                self.references.push(Reference {
                                    module,
                                    path,
                                    exported_as: if public { alias } else { None },
                                });
                            }
                            Leaf::Glob(path) => self.modules[module].globs.push(path),
                        }
                    }
                }
                other => {
                    if item_is_test(other) {
                        continue;
                    }
                    if let Some(name) = defined_name(other) {
                        self.modules[module].items.insert(name);
                    }
                    let mut paths = Paths::default();
                    paths.visit_item(other);
                    let file = self.modules[module].file;
                    self.used[file].extend(paths.idents);
                    for path in paths.found {
                        self.references.push(Reference {
                            module,
                            path,
                            exported_as: None,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn root_of(&self, mut module: usize) -> usize {
        while let Some(parent) = self.modules[module].parent {
            module = parent;
        }
        module
    }

    /// What `path`, read in `module`'s scope, names.
    fn resolve(&self, module: usize, path: &[String], depth: usize) -> Target {
        if depth > 16 {
            return Target::Outside;
        }
        match path.first().map(String::as_str) {
            Some("crate") => self.walk(self.root_of(module), &path[1..], depth),
            Some("self") => self.walk(module, &path[1..], depth),
            _ => self.walk(module, path, depth),
        }
    }

    fn walk(&self, module: usize, path: &[String], depth: usize) -> Target {
        let Some((first, rest)) = path.split_first() else {
            return Target::Module(module);
        };
        let here = &self.modules[module];
        if first == "super" {
            return match here.parent {
                Some(parent) => self.walk(parent, rest, depth),
                None => Target::Outside,
            };
        }
        if let Some(&child) = here.children.get(first) {
            return self.walk(child, rest, depth);
        }
        if here.items.contains(first) {
            return Target::Item(module, first.clone());
        }
        if let Some(alias) = here.aliases.get(first) {
            return match self.resolve(module, alias, depth + 1) {
                Target::Module(m) => self.walk(m, rest, depth + 1),
                found => found,
            };
        }
        for glob in &here.globs {
            if let Target::Module(source) = self.resolve(module, glob, depth + 1) {
                let there = &self.modules[source];
                if there.children.contains_key(first)
                    || there.items.contains(first)
                    || there.aliases.contains_key(first)
                {
                    return self.walk(source, path, depth + 1);
                }
            }
        }
        Target::Outside
    }

    /// Which file imports which, with the names taken.
    fn edges(&self) -> BTreeMap<(usize, usize), BTreeSet<String>> {
        let mut edges: BTreeMap<(usize, usize), BTreeSet<String>> = BTreeMap::new();
        for reference in &self.references {
            let from = self.modules[reference.module].file;
            if let Some(name) = &reference.exported_as
                && !self.used[from].contains(name)
            {
                continue;
            }
            if let Target::Item(module, name) = self.resolve(reference.module, &reference.path, 0) {
                let to = self.modules[module].file;
                // File 0 is the crate root (see the module doc).
                if to != from && from != 0 && to != 0 {
                    edges.entry((from, to)).or_default().insert(name);
                }
            }
        }
        edges
    }

    /// The circles among the files (Tarjan's strongly connected components).
    fn circles(&self) -> Vec<Circle> {
        let edges = self.edges();
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); self.files.len()];
        for &(from, to) in edges.keys() {
            next[from].push(to);
        }
        let components = strongly_connected(&next);
        components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|component| {
                let inside: BTreeSet<usize> = component.into_iter().collect();
                Circle {
                    edges: edges
                        .iter()
                        .filter(|((from, to), _)| inside.contains(from) && inside.contains(to))
                        .map(|((from, to), names)| {
                            (
                                self.files[*from].clone(),
                                self.files[*to].clone(),
                                names.clone(),
                            )
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// The strongly connected components of a graph given as successor lists.
fn strongly_connected(next: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        next: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        counter: usize,
        components: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.counter);
        s.low[v] = s.counter;
        s.counter += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for i in 0..s.next[v].len() {
            let w = s.next[v][i];
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(index) if s.on_stack[w] => s.low[v] = s.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let n = next.len();
    let mut state = State {
        next,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        counter: 0,
        components: Vec::new(),
    };
    for v in 0..n {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.components
}

/// One name a `use` tree brings in.
#[derive(Debug)]
enum Leaf {
    /// `path` in scope as `alias` (`None` for `as _`).
    Name {
        alias: Option<String>,
        path: Vec<String>,
    },
    /// Everything `path` holds.
    Glob(Vec<String>),
}

fn flatten(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Leaf>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                out.push(Leaf::Name {
                    alias: prefix.last().cloned(),
                    path: prefix.clone(),
                });
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push(Leaf::Name {
                    alias: Some(name),
                    path,
                });
            }
        }
        syn::UseTree::Rename(r) => {
            let name = r.ident.to_string();
            let mut path = prefix.clone();
            if name != "self" {
                path.push(name);
            }
            let alias = r.rename.to_string();
            out.push(Leaf::Name {
                alias: (alias != "_").then_some(alias),
                path,
            });
        }
        syn::UseTree::Glob(_) => out.push(Leaf::Glob(prefix.clone())),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                flatten(tree, prefix, out);
            }
        }
    }
}

/// Whether a non-`mod`, non-`use` item is test-only.
fn item_is_test(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        _ => return false,
    };
    is_test(attrs)
}

/// The name an item defines in its module, if any.
fn defined_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::ExternCrate(i) => i.rename.as_ref().map_or(&i.ident, |(_, r)| r),
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// The paths of two or more segments an item's code names, and every
/// identifier it uses.
#[derive(Debug, Default)]
struct Paths {
    found: Vec<Vec<String>>,
    idents: BTreeSet<String>,
}

impl Paths {
    /// Paths in a macro's arguments, which `syn` leaves as tokens:
    /// `a::b::c` runs of identifiers joined by `::`.
    fn scan(&mut self, tokens: TokenStream) {
        let flat = flatten_tokens(tokens);
        let mut i = 0;
        while i < flat.len() {
            let Flat::Ident(first) = &flat[i] else {
                i += 1;
                continue;
            };
            self.idents.insert(first.clone());
            let mut path = vec![first.clone()];
            let mut j = i + 1;
            while let (Some(Flat::Colons), Some(Flat::Ident(next))) = (flat.get(j), flat.get(j + 1))
            {
                self.idents.insert(next.clone());
                path.push(next.clone());
                j += 2;
            }
            if path.len() > 1 {
                self.found.push(path);
            }
            i = j;
        }
    }
}

/// A token of a macro's arguments, for [`Paths::scan`].
#[derive(Debug)]
enum Flat {
    Ident(String),
    /// `::`
    Colons,
    Other,
}

fn flatten_tokens(tokens: TokenStream) -> Vec<Flat> {
    let mut out = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(token) = iter.next() {
        match token {
            TokenTree::Group(group) => {
                out.push(Flat::Other);
                out.extend(flatten_tokens(group.stream()));
                out.push(Flat::Other);
            }
            TokenTree::Ident(ident) => out.push(Flat::Ident(ident.to_string())),
            TokenTree::Punct(p) if p.as_char() == ':' => {
                if matches!(iter.peek(), Some(TokenTree::Punct(q)) if q.as_char() == ':') {
                    iter.next();
                    out.push(Flat::Colons);
                } else {
                    out.push(Flat::Other);
                }
            }
            _ => out.push(Flat::Other),
        }
    }
    out
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.idents.extend(segments.iter().cloned());
        if segments.len() > 1 {
            self.found.push(segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.scan(mac.tokens.clone());
    }

    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !item_is_test(item) && !matches!(item, syn::Item::Mod(m) if is_test(&m.attrs)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // A `use` inside a function body: its paths count like any other.
        let mut leaves = Vec::new();
        flatten(&u.tree, &mut Vec::new(), &mut leaves);
        for leaf in leaves {
            if let Leaf::Name { path, .. } = leaf
                && path.len() > 1
            {
                self.found.push(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway crate: `files` as (path under `src/`, contents).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str, files: &[(&str, &str)]) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "xtask-imports-{name}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ));
            for (path, text) in files {
                let path = dir.join("src").join(path);
                fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
                fs::write(&path, text).expect("write");
            }
            Self(dir)
        }

        fn circles(&self) -> Vec<String> {
            let graph = Graph::load(&self.0.join("src/lib.rs")).expect("parses");
            graph
                .circles()
                .iter()
                .map(|c| c.describe(&self.0.join("src")))
                .collect()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn finds_a_circle_through_use_and_through_a_path_in_code() {
        let scratch = Scratch::new(
            "circle",
            &[
                ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
                ("a.rs", "use crate::b::Bee;\npub struct Ant(Bee);\n"),
                (
                    "b.rs",
                    "pub struct Bee;\npub fn buzz() { crate::c::sting(); }\n",
                ),
                (
                    "c.rs",
                    "pub fn sting() { let _ = super::a::Ant(crate::b::Bee); }\n",
                ),
            ],
        );
        let circles = scratch.circles();
        assert_eq!(circles.len(), 1, "{circles:?}");
        let text = &circles[0];
        assert!(text.starts_with("circle of 3: a.rs, b.rs, c.rs"), "{text}");
        assert!(text.contains("a.rs -> b.rs: Bee"), "{text}");
        assert!(text.contains("b.rs -> c.rs: sting"), "{text}");
        assert!(text.contains("c.rs -> a.rs: Ant"), "{text}");
    }

    #[test]
    fn names_are_followed_through_re_exports_to_their_file() {
        let scratch = Scratch::new(
            "reexport",
            &[
                (
                    "lib.rs",
                    "mod state;\nmod ws;\npub use state::State;\npub use ws::serve;\n",
                ),
                ("state.rs", "pub struct State;\n"),
                ("ws/mod.rs", "mod conn;\npub use conn::serve;\n"),
                (
                    "ws/conn.rs",
                    "use crate::State;\npub fn serve(_: State) {}\n",
                ),
            ],
        );
        assert_eq!(scratch.circles(), Vec::<String>::new());
    }

    #[test]
    fn a_parent_that_uses_what_its_child_uses_from_it_is_a_circle() {
        let scratch = Scratch::new(
            "parent",
            &[
                ("lib.rs", "mod bus;\n"),
                (
                    "bus/mod.rs",
                    "mod tracking;\npub use tracking::Tracked;\npub struct Shared;\n\
                     pub fn admit() -> Tracked { tracking::count() }\n",
                ),
                (
                    "bus/tracking.rs",
                    "use super::Shared;\npub struct Tracked(Shared);\n\
                     pub fn count() -> Tracked { Tracked(Shared) }\n",
                ),
            ],
        );
        let circles = scratch.circles();
        assert_eq!(circles.len(), 1, "{circles:?}");
        assert!(circles[0].contains("bus/mod.rs -> bus/tracking.rs: Tracked, count"));
        assert!(circles[0].contains("bus/tracking.rs -> bus/mod.rs: Shared"));
    }

    #[test]
    fn the_crate_root_is_in_no_circle() {
        let scratch = Scratch::new(
            "root",
            &[
                (
                    "lib.rs",
                    "mod tasks;\npub type Result = std::result::Result<(), String>;\n\
                     pub fn main() -> Result { tasks::run() }\n",
                ),
                ("tasks.rs", "pub fn run() -> crate::Result { Ok(()) }\n"),
            ],
        );
        assert_eq!(scratch.circles(), Vec::<String>::new());
    }

    #[test]
    fn macro_arguments_count_and_test_code_does_not() {
        let scratch = Scratch::new(
            "macros",
            &[
                ("lib.rs", "mod metrics;\nmod room;\n"),
                (
                    "metrics.rs",
                    "pub const RELAY: &str = \"relay\";\n\
                     #[cfg(test)]\nmod tests { use crate::room::apply; }\n",
                ),
                (
                    "room.rs",
                    "pub fn apply() { metrics::counter!(crate::metrics::RELAY).increment(1); }\n",
                ),
            ],
        );
        assert_eq!(scratch.circles(), Vec::<String>::new());
        let graph = Graph::load(&scratch.0.join("src/lib.rs")).expect("parses");
        let edges: Vec<(usize, usize)> = graph.edges().into_keys().collect();
        assert_eq!(edges.len(), 1, "room.rs -> metrics.rs only: {edges:?}");
    }
}
