//! What `hfgit.testing.LocalHub` needs from Xet storage to stand in for the Hub: which files a
//! shard declares (so a pointer whose object arrived through Xet passes its pre-receive check),
//! and a file's bytes back from the CAS (its bridge for LFS downloads). The Hub does both on its
//! side; here they reuse the crates' own shard reader and downloader, not a parser of ours.

use std::io::Cursor;
use std::path::PathBuf;

use xet::xet_session::XetFileInfo;
use xet_core_structures::metadata_shard::streaming_shard::MDBMinimalShard;

use super::session;
use crate::lfs::error::LfsError;

/// One file a shard declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFile {
    /// The Xet file id (what reconstruction asks for).
    pub xet_hash: String,
    /// The LFS SHA-256 the uploader put in the shard, if it did.
    pub sha256: Option<String>,
    pub size: u64,
}

/// The files of a shard as uploaded to `POST /v1/shards` or `/v2/shards` (the streamed form,
/// without the lookup tables and footer of a stored shard).
pub fn shard_files(shard: &[u8]) -> Result<Vec<ShardFile>, String> {
    let mut reader = Cursor::new(shard);
    let shard =
        MDBMinimalShard::from_reader(&mut reader, true, false).map_err(|err| err.to_string())?;
    Ok((0..shard.num_files())
        .filter_map(|index| shard.file(index))
        .map(|file| ShardFile {
            xet_hash: file.file_hash().hex(),
            sha256: file.metadata_ext().map(|ext| ext.sha256.hex()),
            size: (0..file.num_entries())
                .map(|index| u64::from(file.entry(index).unpacked_segment_bytes))
                .sum(),
        })
        .collect())
}

/// Write the file `xet_hash` of `size` bytes, reconstructed from the CAS at `cas_url`, to `dest`.
pub fn reconstruct(
    cas_url: &str,
    token: &str,
    expires_at: u64,
    xet_hash: &str,
    size: u64,
    dest: PathBuf,
) -> Result<(), LfsError> {
    let failed = |err: xet::XetError| LfsError::Network {
        during: format!("reconstructing Xet file {xet_hash}"),
        detail: crate::auth::redact::redact_text(&err.to_string()),
    };
    let (session, runtime) = session::new_session(false)?;
    runtime.block_on(async {
        let group = session
            .new_file_download_group()
            .map_err(failed)?
            .with_endpoint(cas_url)
            .with_token_info(token, expires_at)
            .build()
            .await
            .map_err(failed)?;
        group
            .download_file_to_path(XetFileInfo::new(xet_hash.to_owned(), size), dest)
            .await
            .map_err(failed)?;
        group.finish().await.map_err(failed)?;
        Ok::<(), LfsError>(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_a_shard_are_refused_with_a_reason() {
        let err = shard_files(b"not a shard").unwrap_err();
        assert!(!err.is_empty());
    }
}
