//! Reading a ref by its full name (`refs/...`) as exactly that name.
//!
//! gix looks every name up as a partial one, as `git rev-parse` does: `refs/comm-node/x` is
//! tried as itself, then as `tags/refs/comm-node/x`, `heads/...`, `remotes/...` and
//! `remotes/.../HEAD` under the git dir. So a missing ref (the halt ref, read by every
//! commit's hook) cost five failed opens, and a file at one of those paths would have been
//! read as the namespace ref. A full name is read here from its loose file, else from
//! packed-refs; nothing else is tried.

use std::io::ErrorKind;

use gix::refs::{FullName, Target};

use super::ObjectId;
use crate::error::{Context, Result};

/// Refs kept per worktree (in the worktree's git dir, not the common dir) and a repository
/// with a `GIT_NAMESPACE` are left to gix, which knows where their files live.
fn needs_gix(repo: &gix::Repository, name: &str) -> bool {
    repo.refs.namespace.is_some()
        || ["refs/bisect/", "refs/worktree/", "refs/rewritten/"]
            .iter()
            .any(|private| name.starts_with(private))
}

/// The object `name` (a full ref name) points at; `None` when it does not exist or is
/// symbolic. `None` from the outer `Option` means the name is one gix must look up.
pub fn read(repo: &gix::Repository, name: &str) -> Option<Result<Option<ObjectId>>> {
    if !name.starts_with("refs/") || needs_gix(repo, name) {
        return None;
    }
    Some(read_full(repo, name))
}

fn read_full(repo: &gix::Repository, name: &str) -> Result<Option<ObjectId>> {
    let what = format!("cannot read ref {name}");
    let full = FullName::try_from(name).context(&what)?;
    let path = repo.refs.common_dir_resolved().join(name);
    match std::fs::read(&path) {
        Ok(content) => {
            let loose = gix::refs::file::loose::Reference::try_from_path(
                full,
                &content,
                repo.object_hash(),
            )
            .context(&what)?;
            Ok(match loose.target {
                Target::Object(id) => Some(id),
                Target::Symbolic(_) => None,
            })
        }
        Err(e) if absent(&e, &path) => packed(repo, name, &what),
        Err(e) => Err(e).context(&what),
    }
}

/// A missing file, a missing or non-directory parent, or a directory (a ref name that is a
/// prefix of others): no loose ref by that name.
fn absent(error: &std::io::Error, path: &std::path::Path) -> bool {
    matches!(
        error.kind(),
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
    ) || path.is_dir()
}

fn packed(repo: &gix::Repository, name: &str, what: &str) -> Result<Option<ObjectId>> {
    let Some(buffer) = repo.refs.cached_packed_buffer().context(what)? else {
        return Ok(None);
    };
    // A full name is looked up verbatim in packed-refs.
    let found = buffer.try_find(name).context(what)?;
    Ok(found.map(|r| r.target()))
}

#[cfg(test)]
mod tests {
    use crate::repo::scratch::{commit, scratch};

    fn git(dir: &std::path::Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn a_full_name_is_not_resolved_as_a_partial_one() {
        let (dir, repo) = scratch();
        let id = commit(&repo, &[], "one");
        for decoy in [
            "refs/heads/refs/comm-node/x",
            "refs/tags/refs/comm-node/x",
            "refs/remotes/refs/comm-node/x",
        ] {
            git(dir.path(), &["update-ref", decoy, &id.to_string()]);
        }
        // Where gix's partial lookup of `refs/comm-node/x` looked after the name itself.
        for decoy in ["tags", "heads", "remotes"] {
            let file = dir.path().join(".git").join(decoy).join("refs/comm-node/x");
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, format!("{id}\n")).unwrap();
        }
        assert_eq!(repo.read_ref("refs/comm-node/x").unwrap(), None);
        git(dir.path(), &["pack-refs", "--all"]);
        assert_eq!(repo.read_ref("refs/comm-node/x").unwrap(), None);
    }

    #[test]
    fn a_full_name_is_read_loose_first_then_packed() {
        let (dir, repo) = scratch();
        let (one, two) = (commit(&repo, &[], "one"), commit(&repo, &[], "two"));
        git(
            dir.path(),
            &["update-ref", "refs/comm-node/x", &one.to_string()],
        );
        assert_eq!(repo.read_ref("refs/comm-node/x").unwrap(), Some(one));
        git(dir.path(), &["pack-refs", "--all"]);
        assert!(!dir.path().join(".git/refs/comm-node/x").exists());
        assert_eq!(repo.read_ref("refs/comm-node/x").unwrap(), Some(one));
        // A loose file written after packing wins over the packed line, as in git.
        git(
            dir.path(),
            &["update-ref", "refs/comm-node/x", &two.to_string()],
        );
        assert_eq!(repo.read_ref("refs/comm-node/x").unwrap(), Some(two));
        // A name that is a directory of other refs is no ref.
        git(
            dir.path(),
            &["update-ref", "refs/comm-node/d/y", &one.to_string()],
        );
        assert_eq!(repo.read_ref("refs/comm-node/d").unwrap(), None);
        assert_eq!(repo.read_ref("refs/comm-node/d/y").unwrap(), Some(one));
        // Short names keep git's lookup rules.
        git(
            dir.path(),
            &["update-ref", "refs/heads/topic", &two.to_string()],
        );
        assert_eq!(repo.read_ref("topic").unwrap(), Some(two));
    }

    #[test]
    fn a_bad_full_name_is_an_error() {
        let (_dir, repo) = scratch();
        assert!(repo.read_ref("refs/comm-node/a..b").is_err());
    }
}
