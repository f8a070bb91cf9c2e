//! Short import and export names for the package's `.wasm` (a step of `cargo xtask pack`).
//!
//! wasm-bindgen names every import after its JS function plus a hash
//! (`__wbg_instanceof_Uint8Array_d7aeb0dcb3108fea`, from module `./switchyard_bg.js`) and every
//! export after its Rust item (`eventbus___inlineRoute`, the closure shims' 100-300 character
//! mangled names). The names sit twice in what a browser loads: in the `.wasm`'s import and
//! export sections, and in wasm-bindgen's JavaScript (the keys of the import object, and each
//! `wasm.<export>` call), where no minifier may rename them (they are property names). Binaryen's
//! `wasm-opt --minify-imports-and-exports-and-modules` renames them all to one or two
//! characters (`a`, `$b`...), puts every import in module `a`, and prints the mapping; [`rewrite`]
//! applies that mapping to wasm-bindgen's JavaScript. 2.4 KB gzip of `.wasm` on 2026-12-06, plus
//! the JavaScript's share.
//!
//! The rewrite is checked, not hoped for: every import must be a key of wasm-bindgen's import
//! object exactly once, and after the rewrite every `wasm.<name>` in the file must be a minified
//! export; anything else fails the pack (a later wasm-bindgen that writes its JavaScript
//! differently then needs this module updated instead of shipping a module that cannot link).

use std::collections::HashSet;

use anyhow::{bail, Result};

/// The module every import is in after `--minify-imports-and-exports-and-modules`.
const MINIFIED_MODULE: &str = "a";

/// What `wasm-opt --minify-imports-and-exports-and-modules` renamed.
#[derive(Debug, Default, PartialEq)]
pub struct Mapping {
    /// `(module, old name, new name)` of each import.
    pub imports: Vec<(String, String, String)>,
    /// `(old name, new name)` of each export.
    pub exports: Vec<(String, String)>,
}

/// Reads the mapping wasm-opt prints: `"imports": [ [module, old, new], ... ], "exports": [
/// [old, new], ... ]`, one entry a line (not quite JSON: it may leave a trailing comma).
pub fn parse_mapping(text: &str) -> Result<Mapping> {
    let mut mapping = Mapping::default();
    let mut section = "";
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("\"imports\"") {
            section = "imports";
            continue;
        }
        if line.starts_with("\"exports\"") {
            section = "exports";
            continue;
        }
        if !line.starts_with('[') || line == "[" {
            continue;
        }
        let strings = quoted(line)?;
        match (section, strings.as_slice()) {
            ("imports", [module, old, new]) => {
                mapping
                    .imports
                    .push((module.clone(), old.clone(), new.clone()));
            }
            ("exports", [old, new]) => mapping.exports.push((old.clone(), new.clone())),
            _ => bail!("unexpected line in wasm-opt's name mapping: {line}"),
        }
    }
    if mapping.exports.is_empty() {
        bail!("wasm-opt printed no export names to map:\n{text}");
    }
    Ok(mapping)
}

/// The double-quoted strings of `line` (the names hold no quotes or escapes).
fn quoted(line: &str) -> Result<Vec<String>> {
    let mut strings = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else {
            bail!("unterminated name in wasm-opt's mapping: {line}");
        };
        strings.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    Ok(strings)
}

/// wasm-bindgen's JavaScript (`--target web`) with the names of `mapping`: the import object's
/// keys, its module key (`bindgen_module`, `./<out-name>_bg.js`: the package's `./switchyard_bg.js`
/// and `./switchyard_snapshot_bg.js`, the visualiser's `./switchyard-web_bg.js`), and every
/// `wasm.<export>`.
pub fn rewrite(js: &str, mapping: &Mapping, bindgen_module: &str) -> Result<String> {
    let mut out = js.to_owned();
    for (module, old, new) in &mapping.imports {
        if module != bindgen_module {
            bail!("import {old} is from module {module}, not {bindgen_module}");
        }
        // Keys of the import object, each on its own line: `        <name>: function(...`.
        let key = format!("\n        {old}: ");
        if out.matches(&key).count() != 1 {
            bail!("import {old} is not a key of wasm-bindgen's import object exactly once");
        }
        out = out.replacen(&key, &format!("\n        {new}: "), 1);
    }
    let module_key = format!("\"{bindgen_module}\": import0");
    if !mapping.imports.is_empty() {
        if out.matches(&module_key).count() != 1 {
            bail!("wasm-bindgen's JavaScript does not name module {bindgen_module} once");
        }
        out = out.replacen(&module_key, &format!("\"{MINIFIED_MODULE}\": import0"), 1);
    }
    for (old, new) in &mapping.exports {
        out = replace_member(&out, old, new);
    }
    let exported: HashSet<&str> = mapping
        .exports
        .iter()
        .map(|(_, new)| new.as_str())
        .collect();
    for name in members(&out) {
        if !exported.contains(name) {
            bail!("wasm-bindgen's JavaScript uses wasm.{name}, which the minified module does not export");
        }
    }
    Ok(out)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// `js` with every `wasm.<old>` (a whole name) as `wasm.<new>`.
fn replace_member(js: &str, old: &str, new: &str) -> String {
    let pattern = format!("wasm.{old}");
    let mut out = String::with_capacity(js.len());
    let mut rest = js;
    while let Some(at) = rest.find(&pattern) {
        let before_ok = !rest[..at].ends_with(is_ident) && !rest[..at].ends_with('.');
        let after = &rest[at + pattern.len()..];
        let after_ok = !after.starts_with(is_ident);
        out.push_str(&rest[..at]);
        if before_ok && after_ok {
            out.push_str("wasm.");
            out.push_str(new);
        } else {
            out.push_str(&pattern);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The names `x` of every `wasm.x` in `js` (`wasm` a whole identifier).
fn members(js: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = js;
    while let Some(at) = rest.find("wasm.") {
        let whole = !rest[..at].ends_with(is_ident) && !rest[..at].ends_with('.');
        let after = &rest[at + "wasm.".len()..];
        let end = after.find(|c: char| !is_ident(c)).unwrap_or(after.len());
        if whole && end > 0 {
            names.push(&after[..end]);
        }
        rest = &after[end..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::{parse_mapping, rewrite, Mapping};

    /// The module wasm-bindgen's JavaScript imports from (the lean engine's), as it writes it.
    const BINDGEN_MODULE: &str = "./switchyard_bg.js";

    const MAP: &str = "{\n \"imports\": [\n  [\"./switchyard_bg.js\", \"__wbg_of_e7ea\", \"$\"],\n  [\"./switchyard_bg.js\", \"__wbg_is_null_c2\", \"A\"],\n ],\n\"exports\": [\n  [\"memory\", \"ab\"],\n  [\"eventbus_new\", \"b\"],\n  [\"eventbus_new_x\", \"c\"]\n ]\n}\n";

    const JS: &str = "function __wbg_get_imports() {\n    const import0 = {\n        __proto__: null,\n        __wbg_of_e7ea: function(arg0) { return wasm.eventbus_new_x(arg0); },\n        __wbg_is_null_c2: function(arg0) { return arg0 === null; },\n    };\n    return {\n        __proto__: null,\n        \"./switchyard_bg.js\": import0,\n    };\n}\nconst m = wasm.memory.buffer; wasm.eventbus_new(); notwasm.eventbus_new;\n";

    #[test]
    fn the_mapping_wasm_opt_prints_is_read_with_its_trailing_comma() {
        let mapping = parse_mapping(MAP).unwrap();
        assert_eq!(mapping.imports.len(), 2);
        assert_eq!(
            mapping.imports[0],
            (
                "./switchyard_bg.js".into(),
                "__wbg_of_e7ea".into(),
                "$".into()
            )
        );
        assert_eq!(
            mapping.exports,
            [
                ("memory".into(), "ab".into()),
                ("eventbus_new".into(), "b".into()),
                ("eventbus_new_x".into(), "c".into())
            ]
        );
    }

    #[test]
    fn import_keys_module_and_whole_export_names_are_renamed_and_nothing_else() {
        let out = rewrite(JS, &parse_mapping(MAP).unwrap(), BINDGEN_MODULE).unwrap();
        assert_eq!(
            out,
            "function __wbg_get_imports() {\n    const import0 = {\n        __proto__: null,\n        $: function(arg0) { return wasm.c(arg0); },\n        A: function(arg0) { return arg0 === null; },\n    };\n    return {\n        __proto__: null,\n        \"a\": import0,\n    };\n}\nconst m = wasm.ab.buffer; wasm.b(); notwasm.eventbus_new;\n"
        );
    }

    #[test]
    fn an_export_the_module_does_not_have_or_an_import_not_in_the_object_fails_the_rewrite() {
        let mut mapping = parse_mapping(MAP).unwrap();
        mapping.exports.pop();
        let error = rewrite(JS, &mapping, BINDGEN_MODULE)
            .unwrap_err()
            .to_string();
        assert!(error.contains("wasm.eventbus_new_x"), "{error}");
        let mapping = Mapping {
            imports: vec![(
                "./switchyard_bg.js".into(),
                "__wbg_missing".into(),
                "z".into(),
            )],
            exports: vec![("memory".into(), "ab".into())],
        };
        assert!(rewrite(JS, &mapping, BINDGEN_MODULE).is_err());
    }
}
