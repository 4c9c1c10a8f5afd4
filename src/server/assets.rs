//! The built browser bundle under `/pkg` (issue 15 §6): served precompressed with brotli (or
//! gzip) when the browser accepts it, and cached for a year as immutable when cargo-leptos gave
//! the files hashed names (`hash-files`, so a new build has new names); otherwise revalidated.
//!
//! The `.br` and `.gz` files are made once per build, at start, by a background thread that
//! compresses each `.wasm`, `.js` and `.css` file of `pkg/` that has no up-to-date compressed
//! twin (brotli at quality 11, gzip at level 9; written to a temporary name and renamed, so a
//! half-written file is never served). Until they exist the files are served as they are and
//! compressed on the fly by the router's compression layer.

use axum::http::{HeaderValue, header};
use std::path::{Path, PathBuf};
use tower::Layer;
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

/// `Cache-Control` of hashed bundle files: a new build has new names.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of unhashed bundle files: revalidated on each use (ETag / Last-Modified).
const REVALIDATE: &str = "no-cache";

/// The file names' hashes cargo-leptos wrote (`hash-files = true`): `hash.txt` next to the
/// server's executable, as leptos reads it. `None` when the build did not hash file names.
pub fn hash_file() -> Option<PathBuf> {
    let path = std::env::current_exe().ok()?.parent()?.join("hash.txt");
    path.is_file().then_some(path)
}

/// The `/pkg` service: precompressed files when accepted, and their caching headers.
pub fn pkg_service(site_root: &Path, hashed: bool) -> SetResponseHeader<ServeDir, HeaderValue> {
    let dir = ServeDir::new(site_root.join("pkg")).precompressed_br().precompressed_gzip();
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, cache_control(hashed)).layer(dir)
}

/// `Cache-Control` of the bundle's files: immutable when their names are `hashed`, else
/// revalidated.
pub fn cache_control(hashed: bool) -> HeaderValue {
    HeaderValue::from_static(if hashed { IMMUTABLE } else { REVALIDATE })
}

/// Makes the missing compressed twins of the bundle's files in a background thread.
pub fn precompress_in_background(site_root: &Path) {
    let pkg = site_root.join("pkg");
    let spawned = std::thread::Builder::new().name("precompress".into()).spawn(move || {
        let Ok(entries) = std::fs::read_dir(&pkg) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let wanted = path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "wasm" | "js" | "css"));
            if !wanted {
                continue;
            }
            for (suffix, compress) in [("br", brotli_twin as fn(&[u8]) -> std::io::Result<Vec<u8>>), ("gz", gzip_twin)]
            {
                match twin(&path, suffix, compress) {
                    Ok(Some((raw, packed))) => tracing::info!(
                        file = %path.display(), raw, packed, encoding = suffix, "bundle file precompressed"
                    ),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(file = %path.display(), error = %e, "precompressing a bundle file failed"),
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start precompressing the bundle; it is compressed on the fly");
    }
}

/// Writes `<path>.<suffix>` unless it is newer than `path`; answers the sizes when it wrote.
fn twin(
    path: &Path,
    suffix: &str,
    compress: fn(&[u8]) -> std::io::Result<Vec<u8>>,
) -> std::io::Result<Option<(usize, usize)>> {
    let target = PathBuf::from(format!("{}.{suffix}", path.display()));
    let source_time = std::fs::metadata(path)?.modified()?;
    if std::fs::metadata(&target).and_then(|m| m.modified()).is_ok_and(|t| t >= source_time) {
        return Ok(None);
    }
    let raw = std::fs::read(path)?;
    let packed = compress(&raw)?;
    let temporary = PathBuf::from(format!("{}.{suffix}.tmp-{}", path.display(), std::process::id()));
    std::fs::write(&temporary, &packed)?;
    std::fs::rename(&temporary, &target)?;
    Ok(Some((raw.len(), packed.len())))
}

/// The bundle's brotli twin: the best compression (quality 11, window 4 MiB), made once per file.
fn brotli_twin(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() / 3);
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut std::io::Cursor::new(raw), &mut out, &params)?;
    Ok(out)
}

/// The bundle's gzip twin: the best compression, made once per file.
fn gzip_twin(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 3), flate2::Compression::best());
    encoder.write_all(raw)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twins_round_trip_and_are_made_once() {
        let dir = tempfile_dir();
        let file = dir.join("app.js");
        let text = "console.log('tariff');\n".repeat(200);
        std::fs::write(&file, &text).unwrap();
        let (raw, packed) = twin(&file, "br", brotli_twin).unwrap().expect("written");
        assert_eq!(raw, text.len());
        assert!(packed < raw / 5, "{packed} of {raw}");
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut std::fs::File::open(dir.join("app.js.br")).unwrap(), &mut decoded).unwrap();
        assert_eq!(decoded, text.as_bytes());
        assert!(twin(&file, "br", brotli_twin).unwrap().is_none(), "an up-to-date twin is kept");
        let (_, gz) = twin(&file, "gz", gzip_twin).unwrap().expect("written");
        assert!(gz < raw);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tariff-assets-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
