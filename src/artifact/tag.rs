//! The annotated tag that stores one artifact version: target = the content blob, tagger =
//! the publishing agent, message = a subject, a header paragraph (`Version`, `Media-Type`,
//! `Sha256`, `Size`, `Previous`) and then the free-form description. Headers come first, so
//! a description cannot spoof them.

use gix::bstr::{BString, ByteSlice};

use crate::error::{Context, Error, Result};
use crate::repo::{agent_signature, object_bytes, signing, ObjectId, Repo};

/// The metadata carried by one version's tag message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub key: String,
    pub version: u64,
    pub media_type: String,
    pub sha256: String,
    pub size: u64,
    pub previous: Option<ObjectId>,
    pub description: String,
}

/// One stored version: its tag, content blob, publisher and time, and the metadata.
#[derive(Debug, Clone)]
pub struct Version {
    pub tag: ObjectId,
    pub blob: ObjectId,
    pub publisher: String,
    pub time: i64,
    pub meta: Meta,
}

impl Meta {
    pub fn encode(&self) -> String {
        let mut text = format!(
            "publish {}@v{}\n\nVersion: {}\nMedia-Type: {}\nSha256: {}\nSize: {}\n",
            self.key, self.version, self.version, self.media_type, self.sha256, self.size
        );
        if let Some(previous) = self.previous {
            text.push_str(&format!("Previous: {previous}\n"));
        }
        if !self.description.trim().is_empty() {
            text.push_str(&format!("\n{}\n", self.description.trim_end()));
        }
        text
    }

    pub fn decode(key: &str, message: &str) -> Option<Meta> {
        let mut paragraphs = message.splitn(3, "\n\n");
        let _subject = paragraphs.next()?;
        let headers = paragraphs.next()?;
        let description = paragraphs.next().unwrap_or("").trim_end().to_string();
        let mut meta = Meta {
            key: key.to_string(),
            version: 0,
            media_type: String::new(),
            sha256: String::new(),
            size: 0,
            previous: None,
            description,
        };
        for line in headers.lines() {
            let (field, value) = line.split_once(": ")?;
            match field {
                "Version" => meta.version = value.parse().ok()?,
                "Media-Type" => meta.media_type = value.to_string(),
                "Sha256" => meta.sha256 = value.to_string(),
                "Size" => meta.size = value.parse().ok()?,
                "Previous" => meta.previous = ObjectId::from_hex(value.as_bytes()).ok(),
                _ => {}
            }
        }
        (meta.version > 0).then_some(meta)
    }
}

/// Write the tag object for `meta` pointing at `blob`, tagged by `publisher`; signed as
/// `git tag -s` signs (the signature appended to the message) when a key is configured.
pub fn write(repo: &Repo, blob: ObjectId, publisher: &str, meta: &Meta) -> Result<ObjectId> {
    let mut tag = gix::objs::Tag {
        target: blob,
        target_kind: gix::objs::Kind::Blob,
        name: BString::from(format!("{}/v{}", meta.key, meta.version)),
        tagger: Some(agent_signature(publisher)),
        message: BString::from(meta.encode()),
        signature: None,
    };
    if let Some(key) = signing::key_for_write(repo)? {
        let signature = key.sign(&object_bytes(&tag)?)?;
        tag.message.extend_from_slice(signature.as_bytes());
    }
    Ok(repo
        .gix()
        .write_object(&tag)
        .context("cannot write artifact tag")?
        .detach())
}

/// Read and decode the artifact tag `id` of artifact `key`.
pub fn read(repo: &Repo, key: &str, id: ObjectId) -> Result<Version> {
    let corrupt = |why: &str| Error::git(format!("artifact {key}: tag {id} {why}"));
    let tag = repo
        .gix()
        .find_tag(id)
        .map_err(|_| corrupt("is missing or not a tag").with_hint("run `git comm sync`"))?;
    let decoded = tag.decode().context("cannot decode artifact tag")?;
    let (publisher, time) = match decoded.tagger().ok().flatten() {
        Some(sig) => (sig.name.to_str_lossy().into_owned(), sig.seconds()),
        None => (String::new(), 0),
    };
    let message = decoded.message.to_str_lossy();
    let meta = Meta::decode(key, signing::strip_tag_signature(&message))
        .ok_or_else(|| corrupt("has no artifact metadata"))?;
    Ok(Version {
        tag: id,
        blob: decoded.target(),
        publisher,
        time,
        meta,
    })
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
