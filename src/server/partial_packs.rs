//! Partial page packs (issue 15 §6): the modules of a page that the browser does not have yet,
//! as one file.
//!
//! A page pack (`scripts/page_packs.py`) holds every wasm module a page needs. On a first visit
//! that is what the browser needs, and the pack is a static, precompressed file. A page reached
//! by client-side navigation, though, needs only the modules that the pages before it did not
//! load: the split loader then asks for `/pkg/<page pack>?want=<modules>`, and this layer
//! answers with a pack of those modules alone, in the same format (a 4-byte little-endian
//! header length, the JSON header `[[module stem, byte length], ...]`, the modules' bytes).
//!
//! `want` is a bitmap in unpadded base64url: bit `n` (bit `n % 8` of byte `n / 8`) asks for
//! module number `n` of `page_packs.json`'s `modules`. Every module asked for must be one of the
//! page's. The answer is compressed here (brotli, else gzip, as the request accepts) — or is
//! the page's whole pack, precompressed at brotli's highest quality, when that is no larger, as
//! it is when a page needs most of its modules (the loader takes the modules it needs from a
//! pack and ignores the others) — and is kept
//! in a cache bounded by bytes ([`CACHE_BYTES`]), so a navigation that many users make is built
//! once; its URL names its content (the pack's name carries the build hash), so with hashed file
//! names it is cached by browsers as immutable like every other bundle file.
//!
//! At most [`BUILDERS`] packs are built at once, and a request waits at most [`BUILD_WAIT`] for
//! its turn: `/pkg` needs no sign-in, so whoever asks for many different module sets makes
//! the server compress, and this bounds what that costs (the cache bounds the memory).
//!
//! Errors: 400 (plain text) for a `want` that is not the canonical bitmap of some of the page's
//! modules, 405 for a method other than GET and HEAD, 500
//! when a module file cannot be read, 503 (with `Retry-After`) when the builders stayed busy
//! for [`BUILD_WAIT`]; in each case the split loader falls back to fetching the modules one by
//! one. A request without `want`, or with `want` on a file that is not a page pack, goes on to the
//! static files (so 404 for a pack that does not exist).

use super::assets::{SplitManifest, brotli_bytes, gzip_bytes};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64ct::Encoding as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes of compressed partial packs the cache keeps.
pub const CACHE_BYTES: u64 = 32 << 20;
/// Brotli quality of a partial pack. Measured on the billing page's whole pack (441 KB): quality
/// 9 takes 36 ms and gives 109 KB; 11, the static packs', 752 ms and 98 KB; 5, 10 ms and 112 KB.
const BROTLI_QUALITY: i32 = 9;
/// Packs built at once: one core of two at most.
pub const BUILDERS: usize = 1;
/// How long a request waits for a builder before it is answered 503.
pub const BUILD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How a partial pack is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    /// The best coding `accept` (an `Accept-Encoding` value) allows.
    fn from_accept(accept: &str) -> Coding {
        let allows = |name: &str| {
            accept.split(',').any(|part| {
                let mut fields = part.split(';');
                let token = fields.next().unwrap_or("").trim();
                let refused = fields
                    .any(|f| matches!(f.trim().replace(' ', "").as_str(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                token.eq_ignore_ascii_case(name) && !refused
            })
        };
        if allows("br") {
            Coding::Brotli
        } else if allows("gzip") {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }

    fn header(self) -> Option<HeaderValue> {
        match self {
            Coding::Brotli => Some(HeaderValue::from_static("br")),
            Coding::Gzip => Some(HeaderValue::from_static("gzip")),
            Coding::Identity => None,
        }
    }
}

/// The partial packs of one build: its split manifest, where its modules are, and the cache.
pub struct PartialPacks {
    manifest: Arc<SplitManifest>,
    pkg: PathBuf,
    /// `Cache-Control` of the answers, as for the static bundle files.
    cache_control: HeaderValue,
    /// (pack file, module numbers, coding) → the encoded pack.
    cache: moka::sync::Cache<(String, Vec<usize>, Coding), Bytes>,
    /// One permit per pack being built ([`BUILDERS`]), held by the build itself: a client that
    /// hangs up does not free it while its build still runs.
    builders: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for PartialPacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialPacks").field("pkg", &self.pkg).field("cached", &self.cache.entry_count()).finish()
    }
}

/// Why a `want` is refused (400).
#[derive(Debug, PartialEq, Eq)]
pub enum BadWant {
    NotBase64,
    /// The last byte is zero: the same modules have a shorter name.
    NotCanonical,
    Empty,
    NotOfPage(usize),
}

impl std::fmt::Display for BadWant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadWant::NotBase64 => f.write_str("want: not unpadded base64url"),
            BadWant::NotCanonical => f.write_str("want: ends with a zero byte (not canonical)"),
            BadWant::Empty => f.write_str("want: asks for no module"),
            BadWant::NotOfPage(n) => write!(f, "want: module {n} is not one of this page's"),
        }
    }
}

impl PartialPacks {
    /// The partial packs of the build under `site_root` (its `pkg/` directory), with
    /// `cache_control` on every answer.
    pub fn new(manifest: Arc<SplitManifest>, site_root: &std::path::Path, cache_control: HeaderValue) -> PartialPacks {
        let cache = moka::sync::Cache::builder()
            .max_capacity(CACHE_BYTES)
            .weigher(|_, bytes: &Bytes| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
            .build();
        PartialPacks {
            manifest,
            pkg: site_root.join("pkg"),
            cache_control,
            cache,
            builders: Arc::new(tokio::sync::Semaphore::new(BUILDERS)),
        }
    }

    /// The numbers of the modules of pack `file` that `want` asks for, in the pack's order.
    /// `None` when `file` is no page pack.
    ///
    /// # Errors
    /// [`BadWant`] when `want` is not unpadded base64url, asks for nothing, ends with a zero
    /// byte, or asks for a module that is not the page's.
    pub fn wanted(&self, file: &str, want: &str) -> Option<Result<Vec<usize>, BadWant>> {
        let page = self.manifest.pack_modules(file)?;
        let Ok(bits) = base64ct::Base64UrlUnpadded::decode_vec(want) else { return Some(Err(BadWant::NotBase64)) };
        if bits.iter().all(|byte| *byte == 0) {
            return Some(Err(BadWant::Empty));
        }
        if bits.last() == Some(&0) {
            return Some(Err(BadWant::NotCanonical));
        }
        let asked = bits
            .iter()
            .enumerate()
            .flat_map(|(i, byte)| (0..8).filter(move |bit| byte & (1 << bit) != 0).map(move |bit| i * 8 + bit));
        let mut numbers = Vec::new();
        for n in asked {
            if !page.contains(&n) {
                return Some(Err(BadWant::NotOfPage(n)));
            }
            numbers.push(n);
        }
        Some(Ok(page.iter().copied().filter(|n| numbers.contains(n)).collect()))
    }

    /// The pack `key` (file, module numbers, coding), encoded: from the cache, or built (on a
    /// blocking thread, once a builder is free) and kept.
    async fn encoded(self: &Arc<Self>, key: (String, Vec<usize>, Coding)) -> Result<Bytes, Response> {
        if let Some(bytes) = self.cache.get(&key) {
            return Ok(bytes);
        }
        let Ok(Ok(permit)) = tokio::time::timeout(BUILD_WAIT, self.builders.clone().acquire_owned()).await else {
            metrics::counter!("tariff_partial_packs_busy_total").increment(1);
            let mut busy = (StatusCode::SERVICE_UNAVAILABLE, "the page packs' builders are busy").into_response();
            busy.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(busy);
        };
        let packs = self.clone();
        let file = key.0.clone();
        let built = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            packs.cache.try_get_with_by_ref(&key, || -> std::io::Result<Bytes> {
                let pack = encode(&build(&packs.pkg, packs.manifest.stems(), &key.1)?, key.2)?;
                // Most of a page's modules compress better in the whole pack, at brotli's
                // quality 11: then the whole pack is the answer (the loader takes what it needs
                // from a pack and leaves the rest).
                let whole = match key.2 {
                    Coding::Brotli => packs.pkg.join(format!("{}.br", key.0)),
                    Coding::Gzip => packs.pkg.join(format!("{}.gz", key.0)),
                    Coding::Identity => packs.pkg.join(&key.0),
                };
                let smaller = std::fs::metadata(&whole).is_ok_and(|m| m.len() <= pack.len() as u64);
                let answer = if smaller { "whole" } else { "partial" };
                metrics::counter!("tariff_partial_packs_built_total", "answer" => answer).increment(1);
                match smaller.then(|| std::fs::read(&whole)) {
                    Some(Ok(whole)) => Ok(Bytes::from(whole)),
                    _ => Ok(Bytes::from(pack)),
                }
            })
        })
        .await;
        match built {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) => {
                tracing::error!(pack = %file, error = %e, "a partial page pack could not be built");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "the page pack could not be built").into_response())
            }
            Err(e) => {
                tracing::error!(pack = %file, error = %e, "building a partial page pack stopped");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "the page pack could not be built").into_response())
            }
        }
    }
}

/// The pack format of `scripts/page_packs.py` for modules `numbers` of `stems`, read from `pkg`.
pub fn build(pkg: &std::path::Path, stems: &[String], numbers: &[usize]) -> std::io::Result<Vec<u8>> {
    let mut header = Vec::with_capacity(numbers.len());
    let mut bodies = Vec::with_capacity(numbers.len());
    for &n in numbers {
        let stem = &stems[n];
        let path = pkg.join(format!("{stem}.wasm"));
        let body =
            std::fs::read(&path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        header.push((stem.as_str(), body.len()));
        bodies.push(body);
    }
    let header = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    let length = u32::try_from(header.len()).map_err(std::io::Error::other)?;
    let mut pack = Vec::with_capacity(4 + header.len() + bodies.iter().map(Vec::len).sum::<usize>());
    pack.extend_from_slice(&length.to_le_bytes());
    pack.extend_from_slice(&header);
    for body in bodies {
        pack.extend_from_slice(&body);
    }
    Ok(pack)
}

fn encode(raw: &[u8], coding: Coding) -> std::io::Result<Vec<u8>> {
    match coding {
        Coding::Brotli => brotli_bytes(raw, BROTLI_QUALITY),
        Coding::Gzip => gzip_bytes(raw, flate2::Compression::default()),
        Coding::Identity => Ok(raw.to_vec()),
    }
}

/// The layer on `/pkg`: answers `GET <page pack>?want=...` with a partial pack (see the module
/// docs); every other request goes on to the static files.
pub async fn serve(State(packs): State<Arc<PartialPacks>>, request: Request, next: Next) -> Response {
    let want = request
        .uri()
        .query()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("want=")))
        .map(str::to_owned);
    let Some(want) = want else { return next.run(request).await };
    let file = request.uri().path().trim_start_matches('/').to_owned();
    // Not a page pack: a stray query on a static file, ignored like any other.
    let Some(wanted) = packs.wanted(&file, &want) else { return next.run(request).await };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut refused = (StatusCode::METHOD_NOT_ALLOWED, "a page pack is only read").into_response();
        refused.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return refused;
    }
    let numbers = match wanted {
        Err(bad) => return (StatusCode::BAD_REQUEST, bad.to_string()).into_response(),
        Ok(numbers) => numbers,
    };
    let accept = request.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
    let coding = Coding::from_accept(accept);
    let bytes = match packs.encoded((file, numbers, coding)).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CACHE_CONTROL, packs.cache_control.clone());
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(coding) = coding.header() {
        headers.insert(header::CONTENT_ENCODING, coding);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One page of one module, `m.h`, with its split manifest and pack index under `dir/pkg`.
    fn one_page(dir: &std::path::Path) -> PartialPacks {
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("__wasm_split_manifest.json"), r#"{"__a_route_view_1": ["m.h"]}"#).unwrap();
        std::fs::write(
            pkg.join("page_packs.json"),
            r#"{"packs": {"__a_route_view_1": "page__a.wasmpack"}, "modules": ["m.h"]}"#,
        )
        .unwrap();
        std::fs::write(pkg.join("m.h.wasm"), b"(module)").unwrap();
        let manifest = SplitManifest::load(dir, None).expect("a split build");
        PartialPacks::new(Arc::new(manifest), dir, super::super::assets::cache_control(false))
    }

    #[tokio::test]
    async fn a_request_waits_for_a_builder_then_is_answered_503() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Arc::new(one_page(dir.path()));
        let key = || ("page__a.wasmpack".to_owned(), vec![0], Coding::Identity);
        let builder = packs.builders.acquire().await.unwrap();
        let started = std::time::Instant::now();
        let busy = packs.encoded(key()).await.expect_err("no builder is free");
        assert!(started.elapsed() >= BUILD_WAIT);
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        drop(builder);
        let built = packs.encoded(key()).await.expect("built");
        assert_eq!(&built[..4], &(r#"[["m.h",8]]"#.len() as u32).to_le_bytes());
        assert!(built.ends_with(b"(module)"));
        // A pack in the cache needs no builder.
        let _builder = packs.builders.acquire().await.unwrap();
        assert_eq!(packs.encoded(key()).await.expect("from the cache"), built);
    }

    #[test]
    fn want_is_a_canonical_bitmap_of_the_pages_modules() {
        let dir = tempfile::tempdir().unwrap();
        let packs = one_page(dir.path());
        assert_eq!(packs.wanted("page__a.wasmpack", "AQ"), Some(Ok(vec![0])));
        assert_eq!(packs.wanted("page__a.wasmpack", "AQA"), Some(Err(BadWant::NotCanonical)));
        assert_eq!(packs.wanted("page__a.wasmpack", "Ag"), Some(Err(BadWant::NotOfPage(1))));
        assert_eq!(packs.wanted("page__a.wasmpack", "AA"), Some(Err(BadWant::Empty)));
        assert_eq!(packs.wanted("page__a.wasmpack", "A"), Some(Err(BadWant::NotBase64)));
        assert_eq!(packs.wanted("page__b.wasmpack", "AQ"), None);
    }

    #[test]
    fn accept_encoding_picks_brotli_then_gzip() {
        assert_eq!(Coding::from_accept("gzip, deflate, br, zstd"), Coding::Brotli);
        assert_eq!(Coding::from_accept("gzip"), Coding::Gzip);
        assert_eq!(Coding::from_accept("br;q=0, gzip;q=0.5"), Coding::Gzip);
        assert_eq!(Coding::from_accept("identity"), Coding::Identity);
        assert_eq!(Coding::from_accept(""), Coding::Identity);
        assert_eq!(Coding::from_accept("brotli"), Coding::Identity);
    }
}
