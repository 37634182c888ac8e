//! An artifact version's annotated tag: the metadata its message carries.

use gix::ObjectId;

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
