//! The default build has no MCP server: `git comm mcp` says how to get one (exit 2).
#![cfg(not(feature = "mcp"))]

mod common;

#[test]
fn mcp_without_the_feature_says_how_to_build_it() {
    let t = common::TestRepo::new();
    let out = t.comm(&["mcp"]);
    common::assert_exit(&out, 2, "built without MCP support");
    assert!(common::stderr(&out).contains("--features mcp"));
}
