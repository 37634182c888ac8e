//! The annotated tag that stores one artifact version: target = the content blob, tagger =
//! the publishing agent, message = a subject, a header paragraph (`Version`, `Media-Type`,
//! `Sha256`, `Size`, `Previous`) and then the free-form description. Headers come first, so
//! a description cannot spoof them.

use gix::bstr::BString;

use crate::error::{Context, Error, Result};
pub use crate::model::artifact::{Meta, Version};
use crate::repo::{agent_signature, ObjectId, Repo};

/// Write the tag object for `meta` pointing at `blob`, tagged by `publisher`.
pub fn write(repo: &Repo, blob: ObjectId, publisher: &str, meta: &Meta) -> Result<ObjectId> {
    let tag = gix::objs::Tag {
        target: blob,
        target_kind: gix::objs::Kind::Blob,
        name: BString::from(format!("{}/v{}", meta.key, meta.version)),
        tagger: Some(agent_signature(publisher)),
        message: BString::from(meta.encode()),
        signature: None,
    };
    Ok(repo
        .gix()
        .write_object(&tag)
        .context("cannot write artifact tag")?
        .detach())
}

/// Read and decode the artifact tag `id` of artifact `key`.
pub fn read(repo: &Repo, key: &str, id: ObjectId) -> Result<Version> {
    crate::repo::gate::read_artifact_tag(repo, key, id)
        .map_err(|why| Error::git(why).with_hint("run `git comm sync`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_description_cannot_spoof_headers() {
        let meta = Meta {
            key: "api/schema".into(),
            version: 4,
            media_type: "application/json".into(),
            sha256: "ab".repeat(32),
            size: 12,
            previous: Some(ObjectId::from_hex(&[b'1'; 40]).unwrap()),
            description: "first line\n\nVersion: 99".into(),
        };
        let decoded = Meta::decode("api/schema", &meta.encode()).unwrap();
        assert_eq!(decoded, meta);
    }
}
