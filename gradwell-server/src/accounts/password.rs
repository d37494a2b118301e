//! Password schemes of Dovecot's passwd-file, verified by well-kept crates (never our own
//! crypto): `{ARGON2ID}`, `{BLF-CRYPT}`, `{SHA512-CRYPT}`, `{SHA256-CRYPT}` and `{PLAIN}`.

use argon2::{
    Argon2, PasswordHasher, PasswordVerifier,
    password_hash::{PasswordHash, SaltString, rand_core::OsRng},
};

/// A stored password field, as `{SCHEME}data`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPassword(String);

impl std::fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredPassword(<redacted>)")
    }
}

/// A hash every unknown user is checked against, so an unknown user costs the same time as
/// a wrong password (made once, with the same parameters as new hashes).
static DUMMY: std::sync::LazyLock<StoredPassword> =
    std::sync::LazyLock::new(|| StoredPassword::hash_new("no such user; never matches"));

impl StoredPassword {
    /// Takes the password field of a passwd-file line.
    pub fn new(field: &str) -> Self {
        Self(field.to_owned())
    }

    /// Hashes a new password with ARGON2ID (Argon2's default parameters).
    pub fn hash_new(password: &str) -> Self {
        let salt = SaltString::generate(&mut OsRng);
        // Hashing with a fresh salt and default parameters only fails on absurd inputs
        // (a password over 4 GiB), which never reach here.
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        Self(format!("{{ARGON2ID}}{hash}"))
    }

    /// The field as written to the file.
    pub fn as_field(&self) -> &str {
        &self.0
    }

    /// Checks a candidate password. Unknown or malformed schemes never match.
    pub fn verify(&self, password: &[u8]) -> bool {
        let (scheme, data) = split_scheme(&self.0);
        match scheme.to_ascii_uppercase().as_str() {
            "ARGON2ID" | "ARGON2I" => PasswordHash::new(data)
                .is_ok_and(|h| Argon2::default().verify_password(password, &h).is_ok()),
            "BLF-CRYPT" => bcrypt::verify(password, data).unwrap_or(false),
            "SHA512-CRYPT" => std::str::from_utf8(password)
                .is_ok_and(|p| sha_crypt::sha512_check(p, data).is_ok()),
            "SHA256-CRYPT" => std::str::from_utf8(password)
                .is_ok_and(|p| sha_crypt::sha256_check(p, data).is_ok()),
            "PLAIN" | "CLEARTEXT" => constant_time_eq(password, data.as_bytes()),
            "CRYPT" => Self::verify_crypt(password, data),
            _ => false,
        }
    }

    /// A field without `{SCHEME}` is Dovecot's default, CRYPT: the `$id$` prefix names it.
    fn verify_crypt(password: &[u8], data: &str) -> bool {
        let scheme = if data.starts_with("$6$") {
            "SHA512-CRYPT"
        } else if data.starts_with("$5$") {
            "SHA256-CRYPT"
        } else if data.starts_with("$2") {
            "BLF-CRYPT"
        } else if data.starts_with("$argon2") {
            "ARGON2ID"
        } else {
            return false;
        };
        StoredPassword(format!("{{{scheme}}}{data}")).verify(password)
    }

    /// Spends the time of one verification against nothing (an unknown user).
    pub fn verify_dummy(password: &[u8]) {
        let _ = DUMMY.verify(password);
    }
}

fn split_scheme(field: &str) -> (&str, &str) {
    if let Some(rest) = field.strip_prefix('{')
        && let Some(end) = rest.find('}')
    {
        return (&rest[..end], &rest[end + 1..]);
    }
    ("CRYPT", field)
}

/// Equality whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let p = StoredPassword::hash_new("secret");
        assert!(p.as_field().starts_with("{ARGON2ID}$argon2id$"));
        assert!(p.verify(b"secret"));
        assert!(!p.verify(b"secreT"));
    }

    #[test]
    fn known_answers_from_other_tools() {
        // `doveadm pw -s SHA512-CRYPT -p secret` style hashes, made with the same crates'
        // reference implementations (glibc crypt(3) output format).
        let sha512 =
            sha_crypt::sha512_simple("secret", &sha_crypt::Sha512Params::new(5000).unwrap())
                .unwrap();
        assert!(StoredPassword::new(&format!("{{SHA512-CRYPT}}{sha512}")).verify(b"secret"));
        assert!(StoredPassword::new(&sha512).verify(b"secret"), "bare CRYPT");
        let sha256 =
            sha_crypt::sha256_simple("secret", &sha_crypt::Sha256Params::new(5000).unwrap())
                .unwrap();
        assert!(StoredPassword::new(&format!("{{SHA256-CRYPT}}{sha256}")).verify(b"secret"));
        assert!(!StoredPassword::new(&format!("{{SHA256-CRYPT}}{sha256}")).verify(b"wrong"));
        let blf = bcrypt::hash("secret", 4).unwrap();
        assert!(StoredPassword::new(&format!("{{BLF-CRYPT}}{blf}")).verify(b"secret"));
        assert!(!StoredPassword::new(&format!("{{BLF-CRYPT}}{blf}")).verify(b"nope"));
    }

    #[test]
    fn hashes_made_by_dovecot_verify() {
        // `doveadm -O pw -s SCHEME -p dovecot-secret`, Dovecot 2.3.19.1 (Debian 12).
        for field in [
            "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$ICQtKxyDjOo9R/97LsNEbg$uBNvmEE8tR6Z0fLLtZ1R9ukTxCoeVyNHvc0pzOwfU9c",
            "{SHA512-CRYPT}$6$krdxcr5W.9Uahggl$jAp1b9ED6yebP.IPkfmrziRTIJOlLpgF5BR6Q4/xr8YpUJLjeBKobFT2CbuxWvkS7hH.lCTDHMArWzJ/BeLVY.",
            "{SHA256-CRYPT}$5$NA6gMxvv7qqIG5dP$c6vV/4Xer62afsqCY9NowntigCm3P8dcnzYZnhoWfRA",
            "{BLF-CRYPT}$2y$05$nvmt2KTXe1UHohszZEKfqO9NKFp8wQTOefQtnnSdIqLF2yyw3pr8u",
        ] {
            let p = StoredPassword::new(field);
            assert!(p.verify(b"dovecot-secret"), "{field}");
            assert!(!p.verify(b"dovecot-secreT"), "{field}");
        }
    }

    #[test]
    fn glibc_sha512_crypt_vector() {
        // The first test vector of Ulrich Drepper's SHA-crypt specification.
        let h = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
        assert!(StoredPassword::new(&format!("{{SHA512-CRYPT}}{h}")).verify(b"Hello world!"));
    }

    #[test]
    fn plain_and_unknown_schemes() {
        assert!(StoredPassword::new("{PLAIN}pw").verify(b"pw"));
        assert!(!StoredPassword::new("{PLAIN}pw").verify(b"pw2"));
        assert!(!StoredPassword::new("{MD5}abc").verify(b"abc"));
        assert!(!StoredPassword::new("").verify(b""));
        assert!(!StoredPassword::new("{ARGON2ID}garbage").verify(b"garbage"));
    }

    #[test]
    fn debug_is_redacted() {
        assert!(!format!("{:?}", StoredPassword::new("{PLAIN}pw")).contains("pw"));
    }
}
