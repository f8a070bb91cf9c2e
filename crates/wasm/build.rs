//! Puts the package's JavaScript, bundled as a script, where the wasm-bindgen tests of
//! `tests/browser_async.rs` include it (`$OUT_DIR/glue.js`): `cargo xtask test` bundles
//! `crates/wasm/js/src/install.js` with esbuild and names the file in `SWITCHYARD_GLUE`.
//! Without it (a plain `cargo build` or `cargo test`), the file is a script that throws,
//! saying so: only those tests need it.

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-env-changed=SWITCHYARD_GLUE");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("glue.js");
    let text = match env::var("SWITCHYARD_GLUE") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("SWITCHYARD_GLUE={path}: {e}"))
        }
        _ => "throw new Error('the package JavaScript was not bundled: run these tests with `cargo xtask test` (SWITCHYARD_GLUE)');".to_owned(),
    };
    let unchanged = fs::read_to_string(&out).is_ok_and(|old| old == text);
    if !unchanged {
        fs::write(&out, text).expect("writing $OUT_DIR/glue.js");
    }
}
