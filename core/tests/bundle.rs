//! Bundles (SPEC §27): a registry round-trips through one file with a stable content hash; a
//! damaged, edited, foreign or uncompilable bundle is refused whole.

use segcore::{Definition, ErrorKind, Registry, Schema};

fn registry() -> Registry {
    let schema =
        Schema::from_yaml_str("attributes:\n  ltv: int\n  tier: string\nevents:\n  purchase:\n    amount: int\n")
            .unwrap();
    let mut hv = Definition::new("hv", "1.2.0", "sum(purchase.amount within 90d) > 500");
    hv.tags = vec!["revenue".into(), "a".into(), "revenue".into()];
    hv.timezone = "Europe/Berlin".into();
    let top = Definition::new("top", "1.0.0", "in_segment(\"hv\")   and tier = \"gold\"");
    Registry::from_definitions(vec![top, hv], Some(&schema)).unwrap()
}

#[test]
fn a_bundle_round_trips_with_a_stable_hash() {
    let reg = registry();
    let text = reg.to_bundle(1_700_000_000_000_000);
    let back = Registry::from_bundle(&text).unwrap();
    assert_eq!(back.bundle_hash(), reg.bundle_hash());
    for s in reg.segments() {
        assert_eq!(back.get(s.id()).unwrap().definition_hash(), s.definition_hash(), "{}", s.id());
    }
    assert_eq!(back.schema().unwrap().to_json(), reg.schema().unwrap().to_json());
    // Creation time, key order and formatting do not change the hash.
    assert_eq!(Registry::from_bundle(&reg.to_bundle(0)).unwrap().bundle_hash(), reg.bundle_hash());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let compact = serde_json::to_string(&v).unwrap();
    assert_eq!(Registry::from_bundle(&compact).unwrap().bundle_hash(), reg.bundle_hash());
    assert_eq!(v["hash"].as_str().unwrap().len(), 64);
    assert_eq!(v["created"], "2023-11-14T22:13:20Z");
    // Another definition, another hash.
    let other = Registry::from_definitions(vec![Definition::new("hv", "1.2.1", "ltv > 1")], None).unwrap();
    assert_ne!(other.bundle_hash(), reg.bundle_hash());
}

#[test]
fn damaged_edited_foreign_or_broken_bundles_are_refused_whole() {
    let text = registry().to_bundle(0);
    let refused = |t: &str, why: &str| {
        let e = Registry::from_bundle(t).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BundleInvalid, "{e}");
        assert!(e.to_string().contains(why), "expected {why:?} in {e}");
    };
    refused(&text[..text.len() / 2], "not a bundle");
    refused(&text.replace("> 500", "> 400"), "contents hash to");
    refused(&text.replace("segcore-bundle/1", "segcore-bundle/9"), "this segcore reads segcore-bundle/1");
    refused("[]", "the bundle has no `format`");
    refused(&text.replace("tier = \\\"gold\\\"", "tierr = \\\"gold\\\""), "do not compile");
    refused(&text.replace("\"version\": \"1.2.0\"", "\"version\": \"one\""), "a definition does not read");
}
