//! What an agent is given: `prime`'s contract and `setup`'s block name only what the
//! repository has (no `--sync` without a remote, only the config's domains), point to the
//! agents' guide, and fit in a small budget together with it.

mod common;

use common::*;

const DOMAINS: &str = "version: 1
domains:
  api: { scope: [\"src/api/**\"] }
  web: { scope: [\"src/web/**\"] }
agents:
  alice: { domain: api }
";

fn team(config: Option<&str>) -> TestRepo {
    let repo = TestRepo::new();
    if let Some(text) = config {
        repo.write(".comm-node/config.yaml", text);
    }
    repo.ok_as("alice", &["join", "alice", "--role", "backend"]);
    repo.ok_as("bob", &["join", "bob"]);
    repo
}

fn with_remote(repo: &TestRepo) -> tempfile::TempDir {
    let bare = tempfile::tempdir().unwrap();
    git_in(bare.path(), &["init", "-q", "--bare"]);
    repo.git(&["remote", "add", "origin", bare.path().to_str().unwrap()]);
    bare
}

fn generic_block(repo: &TestRepo) -> String {
    repo.ok_as("alice", &["setup", "generic", "--write"]);
    let text = std::fs::read_to_string(repo.path().join("AGENTS.md")).unwrap();
    repo.ok_as("alice", &["setup", "generic", "--remove"]);
    text
}

#[test]
fn without_a_remote_the_protocol_has_no_sync() {
    let repo = team(Some(DOMAINS));
    for text in [repo.ok_as("alice", &["prime"]), generic_block(&repo)] {
        assert!(!text.contains("--sync"), "{text}");
        assert!(!text.contains("git comm sync"), "{text}");
        assert!(text.contains("git comm lease PATH`"), "{text}");
    }
}

#[test]
fn with_a_remote_claims_and_leases_are_confirmed_on_it() {
    let repo = team(Some(DOMAINS));
    let _bare = with_remote(&repo);
    for text in [repo.ok_as("alice", &["prime"]), generic_block(&repo)] {
        assert!(text.contains("git comm lease PATH --sync"), "{text}");
        assert!(text.contains("git comm next --claim --sync"), "{text}");
        assert!(text.contains("`git comm sync`"), "{text}");
    }
}

#[test]
fn artifact_names_use_the_domains_the_config_has() {
    let repo = team(Some(DOMAINS));
    let alice = repo.ok_as("alice", &["prime"]);
    assert!(alice.contains("git comm publish api/NAME"), "{alice}");
    assert!(alice.contains("git comm wait web/NAME"), "{alice}");
    assert!(alice.contains("export GIT_COMM_AGENT=alice"), "{alice}");
    assert!(!alice.contains("DOMAIN"), "{alice}");

    let plain = team(None);
    for text in [plain.ok_as("alice", &["prime"]), generic_block(&plain)] {
        assert!(!text.contains("DOMAIN"), "{text}");
        assert!(
            !text.contains("publish"),
            "no domains, no artifact names: {text}"
        );
        assert!(!text.contains("outside your domain"), "{text}");
    }
}

#[test]
fn prime_and_setup_point_to_the_guide_which_prime_prints() {
    let repo = team(Some(DOMAINS));
    assert!(repo
        .ok_as("alice", &["prime"])
        .contains("git comm prime --guide"));
    assert!(generic_block(&repo).contains("git comm prime --guide"));
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/agents.md")).unwrap();
    assert_eq!(repo.ok_as("alice", &["prime", "--guide"]), guide);
}

/// An agent reads its contract and the guide before starting: together under 4,000
/// tokens (estimated as a quarter of the characters), and the guide at most 150 lines.
#[test]
fn contract_and_guide_fit_in_4000_tokens() {
    let repo = team(Some(DOMAINS));
    let _bare = with_remote(&repo);
    for i in 0..12 {
        repo.ok_as(
            "bob",
            &[
                "task",
                "add",
                &format!("task number {i} for the api"),
                "--domain",
                "api",
            ],
        );
    }
    let contract = repo.ok_as("alice", &["prime"]);
    let guide = repo.ok_as("alice", &["prime", "--guide"]);
    assert!(
        guide.lines().count() <= 150,
        "{} lines",
        guide.lines().count()
    );
    let tokens = (contract.chars().count() + guide.chars().count()).div_ceil(4);
    assert!(tokens < 4000, "contract + guide = ~{tokens} tokens");
    eprintln!(
        "contract {} chars + guide {} chars = ~{tokens} tokens",
        contract.len(),
        guide.len()
    );
}
