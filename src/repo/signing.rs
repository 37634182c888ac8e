//! Verified identity: SSH signatures on the namespace commits and artifact tags git comm
//! writes, made and checked the way git makes and checks them.
//!
//! Signing uses git's own setup (`gpg.format=ssh`, `user.signingkey`, `gpg.ssh.program`) and
//! runs `ssh-keygen -Y sign -n git -f KEY` as git does: a commit carries the signature in its
//! `gpgsig` header, a tag at the end of its message, so plain `git verify-commit` and
//! `git verify-tag` accept them. Verification is done in-process (one `ssh-keygen` process
//! per commit would dominate sync and the server guard) against an allowed-signers file in
//! git's format, with principal = the author agent.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use gix::bstr::ByteSlice;
use serde::{Deserialize, Serialize};
use ssh_key::{PublicKey, SshSig};

use super::{ObjectId, Repo};
use crate::error::{Error, Result};

/// The SSHSIG namespace git signs commits and tags in.
const NAMESPACE: &str = "git";
/// Where a signature starts in a tag message (git's `parse_signed_buffer`).
const SSH_ARMOR: &[u8] = b"-----BEGIN SSH SIGNATURE-----";
/// The author of sync's own merges: any key in allowed_signers may sign those.
pub const MERGE_AUTHOR: &str = "git-comm";
const HINT_KEYS: &str = "set `git config gpg.format ssh` and `git config user.signingkey ~/.ssh/id_ed25519.pub` (a key file, or `key::ssh-ed25519 AAAA…` with the key in ssh-agent)";

/// `identity.signed`: whether signatures are checked, and what a missing or wrong one means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Nothing is checked (what git comm writes is still signed when a key is configured).
    #[default]
    Off,
    /// Unsigned or wrongly signed entries are admitted with a warning.
    Warn,
    /// Unsigned or wrongly signed entries are refused; writing needs a signing key.
    Required,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Warn => "warn",
            Mode::Required => "required",
        }
    }
}

/// The mode and the trusted keys, as the gate applies them.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub mode: Mode,
    pub signers: Arc<AllowedSigners>,
}

/// One line of an allowed-signers file.
#[derive(Debug, Clone)]
struct Signer {
    principals: Vec<String>,
    namespaces: Option<Vec<String>>,
    valid_after: Option<i64>,
    valid_before: Option<i64>,
    key: PublicKey,
}

/// git's allowed-signers file (`gpg.ssh.allowedSignersFile`, ssh-keygen's ALLOWED SIGNERS):
/// `principals [options] keytype base64 [comment]`, options `namespaces="…"`,
/// `valid-after=…`, `valid-before=…` (timestamps `YYYYMMDD[HHMM[SS]][Z]`, read as UTC).
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    signers: Vec<Signer>,
}

impl AllowedSigners {
    /// Parse the file's text; an error is (1-based line, what is wrong).
    pub fn parse(text: &str) -> std::result::Result<AllowedSigners, (usize, String)> {
        let mut signers = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            signers.push(parse_line(line).map_err(|why| (i + 1, why))?);
        }
        Ok(AllowedSigners { signers })
    }

    pub fn len(&self) -> usize {
        self.signers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.signers.is_empty()
    }

    /// Is `key` allowed to sign for `principal` at `time`? `git-comm` (sync's merges) may
    /// be signed by any listed key.
    fn allows(&self, principal: &str, key: &ssh_key::public::KeyData, time: i64) -> bool {
        self.signers.iter().any(|s| {
            s.key.key_data() == key
                && (principal == MERGE_AUTHOR
                    || s.principals.iter().any(|p| pattern_matches(p, principal)))
                && s.namespaces
                    .as_ref()
                    .is_none_or(|ns| ns.iter().any(|n| pattern_matches(n, NAMESPACE)))
                && s.valid_after.is_none_or(|t| time >= t)
                && s.valid_before.is_none_or(|t| time <= t)
        })
    }
}

fn parse_line(line: &str) -> std::result::Result<Signer, String> {
    let (principals, rest) = split_token(line);
    if principals.is_empty() {
        return Err("no principals".to_string());
    }
    let (options, key_text) = if looks_like_key_type(rest) {
        ("", rest)
    } else {
        split_token(rest)
    };
    let key = PublicKey::from_openssh(key_text.trim())
        .map_err(|e| format!("not a public key ({e}): expected `principal keytype base64`"))?;
    let mut signer = Signer {
        principals: principals
            .split(',')
            .map(|p| p.trim_matches('"').to_string())
            .collect(),
        namespaces: None,
        valid_after: None,
        valid_before: None,
        key,
    };
    for option in split_options(options) {
        let (name, value) = option.split_once('=').unwrap_or((option.as_str(), ""));
        let value = value.trim_matches('"');
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => {
                signer.namespaces = Some(value.split(',').map(str::to_string).collect())
            }
            "valid-after" => signer.valid_after = Some(parse_timestamp(value)?),
            "valid-before" => signer.valid_before = Some(parse_timestamp(value)?),
            "cert-authority" => {
                return Err("cert-authority keys are not supported: list each key".to_string())
            }
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(signer)
}

/// The first whitespace-separated token (quotes keep spaces) and the rest.
fn split_token(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&text[..i], text[i..].trim_start()),
            _ => {}
        }
    }
    (text, "")
}

fn split_options(options: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in options.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn looks_like_key_type(text: &str) -> bool {
    ["ssh-", "ecdsa-", "sk-"]
        .iter()
        .any(|p| text.starts_with(p))
}

/// ssh-keygen's `*` and `?` patterns.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// `YYYYMMDD[HHMM[SS]][Z]` as unix seconds (always UTC).
fn parse_timestamp(text: &str) -> std::result::Result<i64, String> {
    let digits = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    let bad = || format!("'{text}' is not a time (YYYYMMDD[HHMM[SS]][Z])");
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let field = |range: std::ops::Range<usize>| -> i64 {
        digits.get(range).and_then(|d| d.parse().ok()).unwrap_or(0)
    };
    let (year, month, day) = (field(0..4), field(4..6), field(6..8));
    let (hour, minute, second) = (field(8..10), field(10..12), field(12..14));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The signing key git is configured with (`user.signingkey` when `gpg.format` is `ssh`).
#[derive(Debug, Clone)]
pub struct SigningKey {
    /// As configured: a key file path, or `key::` and a public key held by ssh-agent.
    pub spec: String,
    program: String,
}

impl SigningKey {
    /// The configured key, or `None` when git is not set up for ssh signing.
    pub fn configured(repo: &Repo) -> Option<SigningKey> {
        let format = repo.config_string("gpg.format")?;
        let spec = repo.config_string("user.signingkey")?;
        (format.trim() == "ssh" && !spec.trim().is_empty()).then(|| SigningKey {
            spec: spec.trim().to_string(),
            program: repo
                .config_string("gpg.ssh.program")
                .unwrap_or_else(|| "ssh-keygen".to_string()),
        })
    }

    /// The public key text when given literally (`key::…`, or git's older bare `ssh-…`).
    fn literal(&self) -> Option<&str> {
        self.spec
            .strip_prefix("key::")
            .or_else(|| self.spec.starts_with("ssh-").then_some(self.spec.as_str()))
    }

    /// The key file, with `~/` expanded as git does.
    fn path(&self) -> PathBuf {
        match (self.spec.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => PathBuf::from(&self.spec),
        }
    }

    /// Does the key exist where git would look for it?
    pub fn found(&self) -> bool {
        self.literal().is_some() || self.path().is_file()
    }

    /// Sign `payload` as git does; returns the armored signature.
    pub fn sign(&self, payload: &[u8]) -> Result<String> {
        let literal_file = match self.literal() {
            Some(text) => Some(TempKey::write(text)?),
            None => None,
        };
        let key_path = literal_file
            .as_ref()
            .map(|k| k.path.clone())
            .unwrap_or_else(|| self.path());
        let mut command = Command::new(&self.program);
        command
            .args(["-Y", "sign", "-n", NAMESPACE, "-f"])
            .arg(&key_path);
        if literal_file.is_some() {
            command.arg("-U");
        }
        let output =
            run_with_input(&mut command, payload).map_err(|e| self.failed(&e.to_string()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(self.failed(stderr.trim()));
        }
        let signature = String::from_utf8_lossy(&output.stdout).into_owned();
        if !signature.starts_with("-----BEGIN SSH SIGNATURE-----") {
            return Err(self.failed("it printed no signature"));
        }
        Ok(signature)
    }

    fn failed(&self, why: &str) -> Error {
        Error::config(format!(
            "cannot sign with user.signingkey '{}' ({} -Y sign): {why}",
            self.spec, self.program
        ))
        .with_hint(HINT_KEYS)
    }
}

fn run_with_input(command: &mut Command, input: &[u8]) -> std::io::Result<std::process::Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let written = stdin.write_all(input);
    drop(stdin);
    let output = child.wait_with_output()?;
    written.map(|_| output)
}

/// A literal public key written to a private temporary file for `ssh-keygen -U`.
struct TempKey {
    path: PathBuf,
}

impl TempKey {
    fn write(text: &str) -> Result<TempKey> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            ".git-comm-signing-key-{}-{nanos}.pub",
            std::process::id()
        ));
        std::fs::write(&path, format!("{}\n", text.trim()))?;
        Ok(TempKey { path })
    }
}

impl Drop for TempKey {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The key to sign a new namespace object with: `None` when none is configured and the mode
/// allows unsigned writes. In `required` mode a missing key is a config error (exit 2).
pub fn key_for_write(repo: &Repo) -> Result<Option<SigningKey>> {
    let key = SigningKey::configured(repo);
    if repo.policy().identity.mode != Mode::Required {
        return Ok(key);
    }
    match key {
        Some(key) if key.found() => Ok(Some(key)),
        Some(key) => Err(Error::config(format!(
            "identity.signed is required but the signing key '{}' does not exist",
            key.spec
        ))
        .with_hint(HINT_KEYS)),
        None => Err(Error::config(
            "identity.signed is required but git has no ssh signing key: nothing was written",
        )
        .with_hint(HINT_KEYS)),
    }
}

/// What `doctor` reports of the namespace: how many entries were checked and which fail.
#[derive(Debug, Default)]
pub struct Audit {
    pub checked: usize,
    /// (ref the entry was reached from, why its signature does not vouch for its author).
    pub problems: Vec<(String, String)>,
}

/// Check every commit the namespace's commit refs reach and every artifact tag, as the gate
/// checks what a remote adds. Presence (blobs) and cursors (into mail) carry no signature.
pub fn audit(repo: &Repo) -> Result<Audit> {
    let mut audit = Audit::default();
    let mut seen = std::collections::HashSet::new();
    for (name, tip) in repo.list_refs(repo.namespace())? {
        let suffix = &name[repo.namespace().len()..];
        if suffix.starts_with("presence/") || suffix.starts_with("cursors/") {
            continue;
        }
        for id in entries_of(repo, tip)? {
            if !seen.insert(id) {
                continue;
            }
            audit.checked += 1;
            if let Some(why) = problem(repo, id) {
                audit.problems.push((name.clone(), why));
            }
        }
    }
    Ok(audit)
}

/// The objects a namespace value vouches for: a tag itself, or every commit it reaches.
fn entries_of(repo: &Repo, tip: ObjectId) -> Result<Vec<ObjectId>> {
    let kind = repo
        .gix()
        .find_header(tip)
        .map_err(|e| Error::git(format!("cannot read {tip}: {e}")))?
        .kind();
    if kind != gix::objs::Kind::Commit {
        return Ok(vec![tip]);
    }
    let walk = repo
        .gix()
        .rev_walk([tip])
        .all()
        .map_err(|e| Error::git(format!("cannot walk {tip}: {e}")))?;
    walk.map(|info| {
        info.map(|i| i.id)
            .map_err(|e| Error::git(format!("cannot walk {tip}: {e}")))
    })
    .collect()
}

/// A signed object split as git splits it: the signature and the bytes it covers.
struct Signed {
    signature: Vec<u8>,
    payload: Vec<u8>,
}

/// Why an object's signature does not vouch for its author.
pub fn problem(repo: &Repo, id: ObjectId) -> Option<String> {
    let identity = &repo.policy().identity;
    let object = match repo.gix().find_object(id) {
        Ok(object) => object,
        Err(_) => return Some(format!("object {id} is missing")),
    };
    let (signed, author, time) = match object.kind {
        gix::objs::Kind::Commit => split_commit(&object.data),
        gix::objs::Kind::Tag => split_tag(&object.data),
        _ => return Some(format!("{id} cannot carry a signature")),
    };
    let Some(signed) = signed else {
        return Some(format!("{id} by '{author}' is not signed"));
    };
    verify(&identity.signers, &signed, &author, time)
        .err()
        .map(|why| format!("{id} by '{author}': {why}"))
}

fn verify(
    signers: &AllowedSigners,
    signed: &Signed,
    author: &str,
    time: i64,
) -> std::result::Result<(), String> {
    let signature =
        SshSig::from_pem(&signed.signature).map_err(|e| format!("unreadable signature ({e})"))?;
    if !signers.allows(author, signature.public_key(), time) {
        let key = PublicKey::from(signature.public_key().clone());
        let fingerprint = key.fingerprint(ssh_key::HashAlg::Sha256);
        return Err(format!(
            "signed with {fingerprint}, which allowed_signers does not list for '{author}'"
        ));
    }
    PublicKey::from(signature.public_key().clone())
        .verify(NAMESPACE, &signed.payload, &signature)
        .map_err(|e| format!("bad signature ({e})"))
}

/// A commit's `gpgsig`, the bytes without it, its author name and committer time.
fn split_commit(data: &[u8]) -> (Option<Signed>, String, i64) {
    let decoded = gix::objs::CommitRef::from_bytes(data, gix::hash::Kind::Sha1);
    let (author, time) = decoded
        .ok()
        .map(|c| {
            let author = c.author().map(|a| a.name.to_str_lossy().into_owned());
            let time = c.committer().map(|s| s.seconds()).unwrap_or(0);
            (author.unwrap_or_default(), time)
        })
        .unwrap_or_default();
    let signed = gix::objs::CommitRefIter::signature(data, gix::hash::Kind::Sha1)
        .ok()
        .flatten()
        .map(|(signature, payload)| Signed {
            signature: signature.to_vec(),
            payload: payload.to_bstring().to_vec(),
        });
    (signed, author, time)
}

/// A tag's trailing signature, the bytes before it, its tagger name and time.
fn split_tag(data: &[u8]) -> (Option<Signed>, String, i64) {
    let (author, time) = tagger_of(data);
    let start = data
        .find(SSH_ARMOR)
        .filter(|&at| at == 0 || data[at - 1] == b'\n');
    let signed = start.map(|at| Signed {
        signature: data[at..].to_vec(),
        payload: data[..at].to_vec(),
    });
    (signed, author, time)
}

fn tagger_of(data: &[u8]) -> (String, i64) {
    gix::objs::TagRef::from_bytes(data, gix::hash::Kind::Sha1)
        .ok()
        .and_then(|t| t.tagger().ok().flatten())
        .map(|s| (s.name.to_str_lossy().into_owned(), s.seconds()))
        .unwrap_or_default()
}

/// The text of a tag message without a trailing SSH signature.
pub fn strip_tag_signature(message: &str) -> &str {
    match message.find("-----BEGIN SSH SIGNATURE-----") {
        Some(at) if at == 0 || message.as_bytes()[at - 1] == b'\n' => &message[..at],
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICmoLWUJfeX2hVOjZoQm6PM35ClR68rlUfZVk0JVbV4B test";

    #[test]
    fn allowed_signers_lines_with_options_parse_and_bad_lines_name_their_line() {
        let text = format!(
            "# team\nalice {KEY}\nbob,carol namespaces=\"git\",valid-after=20260101Z {KEY}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap();
        assert_eq!(signers.len(), 2);
        assert_eq!(signers.signers[1].principals, ["bob", "carol"]);
        assert_eq!(signers.signers[1].valid_after, Some(1_767_225_600));
        let err = AllowedSigners::parse(&format!("alice {KEY}\nbob ssh-ed25519 garbage\n"));
        assert_eq!(err.unwrap_err().0, 2);
        let err = AllowedSigners::parse(&format!("alice valid-before=2026 {KEY}\n"));
        assert!(err.unwrap_err().1.contains("not a time"));
    }

    #[test]
    fn principal_patterns_and_time_windows_decide() {
        let text = format!("agent-* valid-before=20260101 {KEY}\n");
        let signers = AllowedSigners::parse(&text).unwrap();
        let key = signers.signers[0].key.key_data().clone();
        assert!(signers.allows("agent-7", &key, 1_700_000_000));
        assert!(!signers.allows("bob", &key, 1_700_000_000));
        assert!(!signers.allows("agent-7", &key, 1_800_000_000));
        assert!(signers.allows(MERGE_AUTHOR, &key, 1_700_000_000));
    }
}
