//! The README's feature table is the registry. `TAILOR_BLESS=1 cargo test -p tailor-core --test it readme::`
//! rewrites it after a registry change.

use tailor::engine::features::describe;

const BEGIN: &str = "<!-- features:begin -->";
const END: &str = "<!-- features:end -->";

fn table() -> String {
    let mut t = String::from("| feature | meaning |\n| --- | --- |\n");
    for (name, what) in describe() {
        t.push_str(&format!("| `{name}` | {what} |\n"));
    }
    t
}

#[test]
fn readme_feature_table_matches_the_registry() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (head, rest) = readme.split_once(BEGIN).expect("features:begin marker");
    let (current, tail) = rest.split_once(END).expect("features:end marker");
    let want = format!("\n{}", table());
    if std::env::var_os("TAILOR_BLESS").is_some() {
        std::fs::write(path, format!("{head}{BEGIN}{want}{END}{tail}")).unwrap();
        return;
    }
    assert_eq!(
        current, want,
        "README feature table is stale: run TAILOR_BLESS=1 cargo test -p tailor-core --test it readme::"
    );
}
