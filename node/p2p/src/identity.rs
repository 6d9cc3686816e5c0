//! The node's identity: one ed25519 key, created on first run and kept in
//! the data directory with owner-only permissions. Its libp2p `PeerId` is the
//! player's game identity, and the same 32 bytes sign inputs and actions.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use libp2p::PeerId;
use libp2p::identity::Keypair;
use thiserror::Error;

/// File name of the key inside the data directory.
pub const KEY_FILE: &str = "identity.key";

/// Why the node's key could not be loaded or created.
#[derive(Debug, Error)]
pub enum IdentityError {
    /// The key file or its directory could not be read or written.
    #[error("cannot read or write the identity key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file does not hold exactly 32 bytes.
    #[error("the identity key {path} is malformed: expected 32 bytes, found {len}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
    /// The key file's mode grants group or others some access (Unix only).
    #[error(
        "the identity key {path} is readable by other users (mode {mode:o}); run `chmod 600` on it"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// A node's key, usable both by libp2p and by ed25519-dalek.
#[derive(Clone)]
pub struct Identity {
    secret: [u8; 32],
    signing: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.peer_id())
    }
}

impl Identity {
    /// The identity of a 32-byte ed25519 secret key.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self {
            secret,
            signing: SigningKey::from_bytes(&secret),
        }
    }

    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let kp = libp2p::identity::ed25519::Keypair::generate();
        let mut secret = [0u8; 32];
        secret.copy_from_slice(kp.secret().as_ref());
        Self::from_secret(secret)
    }

    /// Loads the key from `dir`, creating it on first run.
    pub fn load_or_create(dir: &Path) -> Result<(Self, bool), IdentityError> {
        let path = dir.join(KEY_FILE);
        let io = |source| IdentityError::Io {
            path: path.clone(),
            source,
        };
        if path.exists() {
            return Ok((Self::load(&path)?, false));
        }
        fs::create_dir_all(dir).map_err(io)?;
        let id = Self::generate();
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&path).map_err(io)?;
        f.write_all(&id.secret).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok((id, true))
    }

    /// Loads the key file at `path`, refusing it when group or others may access it.
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let io = |source| IdentityError::Io {
            path: path.to_path_buf(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(IdentityError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let bytes = fs::read(path).map_err(io)?;
        let secret: [u8; 32] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| IdentityError::Malformed {
                    path: path.to_path_buf(),
                    len: bytes.len(),
                })?;
        Ok(Self::from_secret(secret))
    }

    /// The key as a libp2p keypair.
    pub fn keypair(&self) -> Keypair {
        let mut secret = self.secret;
        Keypair::ed25519_from_bytes(&mut secret)
            .expect("32 bytes are always a valid ed25519 secret")
    }

    /// The node's libp2p peer id, which is also the player's game identity.
    pub fn peer_id(&self) -> PeerId {
        self.keypair().public().to_peer_id()
    }

    /// The 32-byte ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The ed25519 signature of `message` by this key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// The ed25519 public key inside an ed25519 `PeerId`, if it is one.
pub fn public_key_of(peer: &PeerId) -> Option<[u8; 32]> {
    let pk = libp2p::identity::PublicKey::try_decode_protobuf(peer_public_bytes(peer)?).ok()?;
    Some(pk.try_into_ed25519().ok()?.to_bytes())
}

/// An ed25519 `PeerId` carries its public key inline (identity multihash).
fn peer_public_bytes(peer: &PeerId) -> Option<&[u8]> {
    let mh = peer.as_ref();
    (mh.code() == 0).then(|| mh.digest())
}

/// The `PeerId` of an ed25519 public key.
pub fn peer_id_of(public_key: &[u8; 32]) -> Option<PeerId> {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(public_key).ok()?;
    Some(libp2p::identity::PublicKey::from(pk).to_peer_id())
}

/// Checks an ed25519 signature; any malformed key or signature is `false`.
pub fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    vk.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_with_owner_only_permissions_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = Identity::load_or_create(dir.path()).unwrap();
        assert!(created);
        let (b, created) = Identity::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(a.peer_id(), b.peer_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn peer_id_and_dalek_key_are_the_same_key() {
        let id = Identity::generate();
        assert_eq!(public_key_of(&id.peer_id()), Some(id.public_key()));
        assert_eq!(peer_id_of(&id.public_key()), Some(id.peer_id()));
        let sig = id.sign(b"hello");
        assert!(verify(&id.public_key(), b"hello", &sig));
        assert!(!verify(&id.public_key(), b"hellO", &sig));
        // libp2p verifies what dalek signed.
        assert!(id.keypair().public().verify(b"hello", &sig));
    }

    #[test]
    fn a_truncated_or_world_readable_key_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        fs::write(&path, [1u8; 31]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let e = Identity::load(&path).unwrap_err();
            assert!(matches!(e, IdentityError::Malformed { len: 31, .. }), "{e}");
            fs::write(&path, [1u8; 32]).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let e = Identity::load(&path).unwrap_err();
            assert!(matches!(e, IdentityError::Permissions { .. }), "{e}");
        }
    }
}
