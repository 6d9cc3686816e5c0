//! Length-prefixed frames on a libp2p stream (a big-endian `u32` length,
//! then the bytes), read with a limit checked before anything is allocated.
//! The rollback and block protocols both speak it.

use futures::{AsyncReadExt, AsyncWriteExt};

/// Errors reading one frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announced this many bytes, over the reader's limit.
    #[error("frame of {0} bytes is over the limit")]
    Oversized(usize),
    /// The stream failed or ended mid-frame.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes one frame and flushes it.
pub async fn write_frame<W: futures::AsyncWrite + Unpin>(
    w: &mut W,
    bytes: &[u8],
) -> std::io::Result<()> {
    w.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    w.write_all(bytes).await?;
    w.flush().await
}

/// Reads one length-prefixed frame of at most `max` bytes.
pub async fn read_frame_of<R: futures::AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::Oversized(len));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).await?;
    Ok(buf)
}
