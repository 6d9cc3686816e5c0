//! Framed, versioned, size-bounded binary encodings (postcard inside a
//! 4-byte magic and a version byte). Decoding never panics: every failure is
//! a [`DecodeError`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

/// Why bytes did not decode: every way a framed encoding can fail.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The input is longer than the format's size limit.
    #[error("{len} bytes is over the limit of {max}")]
    TooLarge {
        /// Bytes supplied.
        len: usize,
        /// The format's limit, `max_bytes`.
        max: usize,
    },
    /// The input is shorter than the 5-byte frame or lacks the format's magic.
    #[error("not a {expected} (bad magic bytes)")]
    BadMagic {
        /// Name of the format expected.
        expected: &'static str,
    },
    /// The version byte is not the one this build reads.
    #[error("unsupported {what} version {got} (this build reads {supported})")]
    UnsupportedVersion {
        /// Name of the format.
        what: &'static str,
        /// The version byte found.
        got: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The body is not a postcard encoding of the expected type.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Name of the format.
        what: &'static str,
        /// postcard's error message.
        reason: String,
    },
    /// Bytes left over after the value: their count and the format's name.
    #[error("{0} trailing bytes after the {1}")]
    TrailingBytes(usize, &'static str),
    /// The value decoded but fails the format's structural checks.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Name of the format.
        what: &'static str,
        /// The check that failed.
        reason: &'static str,
    },
}

/// The frame of one encoding: what it is called in errors, its magic, its
/// version and its size limit.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    /// What the encoding is called in error messages.
    pub name: &'static str,
    /// The 4 bytes every encoding starts with.
    pub magic: [u8; 4],
    /// The version byte after the magic; decoding accepts only this version.
    pub version: u8,
    /// The longest encoding, in bytes, that decoding accepts.
    pub max_bytes: usize,
}

impl Format {
    /// Appends the canonical encoding of `value` to `out`.
    pub fn encode_into<T: Serialize>(&self, value: &T, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.magic);
        out.push(self.version);
        // Serializing plain structs into a Vec cannot fail.
        let body =
            postcard::to_extend(value, std::mem::take(out)).expect("postcard encoding into a Vec");
        *out = body;
    }

    /// The canonical encoding of `value`: magic, version byte, postcard body.
    pub fn encode<T: Serialize>(&self, value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(value, &mut out);
        out
    }

    /// Decodes exactly one value, checking the size limit, magic, version and that no bytes trail.
    pub fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, DecodeError> {
        if bytes.len() > self.max_bytes {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: self.max_bytes,
            });
        }
        if bytes.len() < 5 || bytes[..4] != self.magic {
            return Err(DecodeError::BadMagic {
                expected: self.name,
            });
        }
        if bytes[4] != self.version {
            return Err(DecodeError::UnsupportedVersion {
                what: self.name,
                got: bytes[4],
                supported: self.version,
            });
        }
        let (value, rest) =
            postcard::take_from_bytes::<T>(&bytes[5..]).map_err(|e| DecodeError::Malformed {
                what: self.name,
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes(rest.len(), self.name));
        }
        Ok(value)
    }

    /// The error for a decoded value that fails the structural check `reason`.
    pub fn invalid(&self, reason: &'static str) -> DecodeError {
        DecodeError::Invalid {
            what: self.name,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Format = Format {
        name: "test record",
        magic: *b"TEST",
        version: 3,
        max_bytes: 64,
    };

    #[test]
    fn round_trips_and_rejects_every_kind_of_bad_frame() {
        let bytes = F.encode(&(7u32, vec![1u8, 2, 3]));
        assert_eq!(F.decode::<(u32, Vec<u8>)>(&bytes), Ok((7, vec![1, 2, 3])));
        assert!(matches!(
            F.decode::<(u32, Vec<u8>)>(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Malformed { .. })
        ));
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            F.decode::<(u32, Vec<u8>)>(&extra),
            Err(DecodeError::TrailingBytes(1, "test record"))
        );
        let mut v = bytes.clone();
        v[4] = 9;
        assert!(matches!(
            F.decode::<(u32, Vec<u8>)>(&v),
            Err(DecodeError::UnsupportedVersion { got: 9, .. })
        ));
        assert!(matches!(
            F.decode::<u32>(b"NOPE\x03\x01"),
            Err(DecodeError::BadMagic { .. })
        ));
        assert!(matches!(
            F.decode::<u32>(&[0; 65]),
            Err(DecodeError::TooLarge { len: 65, max: 64 })
        ));
        assert!(matches!(
            F.decode::<u32>(b""),
            Err(DecodeError::BadMagic { .. })
        ));
    }

    #[test]
    fn huge_length_prefixes_fail_without_allocating() {
        // A Vec claiming u32::MAX elements in a 10-byte body.
        let mut bytes = b"TEST\x03".to_vec();
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]);
        assert!(matches!(
            F.decode::<Vec<u64>>(&bytes),
            Err(DecodeError::Malformed { .. })
        ));
    }
}

/// Sequences decoded with a bound on their length, checked as they are
/// read: postcard takes a sequence's length from the input, and a
/// nested `Vec<Vec<T>>` of millions of empty inner vectors costs one byte
/// each on the wire and 24 in memory. A field marked
/// `#[serde(deserialize_with = "bounded::vec::<_, _, N>")]` (or
/// `bounded::nested`) refuses more than `N` elements before allocating
/// for them.
pub mod bounded {
    use core::fmt;
    use core::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

    /// At most `N` `T`s.
    pub struct Seq<T, const N: usize>(pub Vec<T>);

    impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Seq<T, N> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T, const N: usize>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for V<T, N> {
                type Value = Seq<T, N>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    write!(f, "a sequence of at most {N} elements")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let hint = seq.size_hint().unwrap_or(0);
                    if hint > N {
                        return Err(serde::de::Error::invalid_length(hint, &self));
                    }
                    let mut v = Vec::with_capacity(hint.min(1024));
                    while let Some(x) = seq.next_element()? {
                        if v.len() == N {
                            return Err(serde::de::Error::invalid_length(N + 1, &self));
                        }
                        v.push(x);
                    }
                    Ok(Seq(v))
                }
            }
            d.deserialize_seq(V::<T, N>(PhantomData))
        }
    }

    /// A `Vec<T>` of at most `N` elements.
    pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Seq::<T, N>::deserialize(d).map(|s| s.0)
    }

    /// A `Vec<Vec<T>>` of at most `OUTER` vectors of at most `INNER` each.
    pub fn nested<
        'de,
        D: Deserializer<'de>,
        T: Deserialize<'de>,
        const OUTER: usize,
        const INNER: usize,
    >(
        d: D,
    ) -> Result<Vec<Vec<T>>, D::Error> {
        Seq::<Seq<T, INNER>, OUTER>::deserialize(d).map(|s| s.0.into_iter().map(|x| x.0).collect())
    }
}
