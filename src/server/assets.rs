//! The built browser bundle under `/pkg` (issue 15 §6): served precompressed with brotli (or
//! gzip) when the browser accepts it, and cached for a year as immutable when cargo-leptos gave
//! the files hashed names (`hash-files`, so a new build has new names); otherwise revalidated.
//!
//! The `.br` and `.gz` files are made once per build, at start, by a background thread that
//! compresses each `.wasm`, `.wasmpack` (a page's modules in one file, `scripts/page_packs.py`),
//! `.js` and `.css` file of `pkg/` that has no up-to-date compressed
//! twin (brotli at quality 11, gzip at level 9; written to a temporary name and renamed, so a
//! half-written file is never served). Until they exist the files are served as they are and
//! compressed on the fly by the router's compression layer.

use axum::http::{HeaderValue, header};
use std::collections::HashMap;
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

/// Which wasm modules each lazily loaded page needs, read from the split build's manifest
/// (`pkg/__wasm_split_manifest.<hash>.json`, as `scripts/split_manifest.py` repaired it), so a
/// server-rendered page can name its modules in `<link rel="preload">` and the browser fetches
/// them alongside the main module instead of after it has run: one round trip fewer on a first
/// visit. A page packed by `scripts/page_packs.py` ([`PAGE_PACKS`]) names its pack instead, the
/// one file the split loader takes its modules from. Leptos 0.8.23 writes such links itself only when it happens to find the manifest (it
/// looks for it outside the render's owner); see `crate::ui::app::App`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SplitManifest {
    /// URL of the split loader the main module imports (`/pkg/__wasm_split.<hash>.js`).
    loader: String,
    /// Split point (`__billing_route_view_<hash>`, the hash a `u64` in decimal) → URLs of the
    /// modules it needs (`/pkg/chunk_3.<hash>.wasm`), in the loader's order, or of its one page
    /// pack when the build has them.
    modules: HashMap<String, Vec<String>>,
    /// Every module's stem (`chunk_3.<hash>`), by the number the packed split loader gives it
    /// (`page_packs.json`'s `modules`); empty without packs.
    stems: Vec<String>,
    /// A page pack's file name → the numbers of its modules, in the pack's order.
    pack_modules: HashMap<String, Vec<usize>>,
}

impl SplitManifest {
    /// Reads the manifest of the build under `site_root/pkg`. With hashed names (`hash_file`,
    /// cargo-leptos's `hash.txt`) the file names come from its `manifest:` and `split:` lines;
    /// without, they are leptos's unhashed defaults.
    ///
    /// `None` for a build without `--split` (`cargo check`, debug and test builds: no manifest
    /// file), and when the manifest cannot be read or parsed (logged; pages then load their
    /// modules without preload).
    pub fn load(site_root: &Path, hash_file: Option<&Path>) -> Option<SplitManifest> {
        let (mut manifest, mut loader) =
            ("__wasm_split_manifest.json".to_owned(), "__wasm_split.______________________.js".to_owned());
        if let Some(hashes) = hash_file.and_then(|p| std::fs::read_to_string(p).ok()) {
            for (name, hash) in hashes.lines().filter_map(|l| l.split_once(':')) {
                match name.trim() {
                    "manifest" => manifest = format!("__wasm_split_manifest.{}.json", hash.trim()),
                    "split" => loader = format!("__wasm_split.{}.js", hash.trim()),
                    _ => {}
                }
            }
        }
        let path = site_root.join("pkg").join(&manifest);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "the wasm split manifest is unreadable; pages load their modules without preload");
                return None;
            }
        };
        match serde_json::from_str::<HashMap<String, Vec<String>>>(&text) {
            Ok(needs) => {
                let packs = read_packs(&site_root.join("pkg").join(PAGE_PACKS));
                let number: HashMap<&str, usize> =
                    packs.modules.iter().enumerate().map(|(n, stem)| (stem.as_str(), n)).collect();
                let mut pack_modules = HashMap::new();
                let mut modules = HashMap::new();
                for (point, stems) in &needs {
                    let numbers: Option<Vec<usize>> = stems.iter().map(|s| number.get(s.as_str()).copied()).collect();
                    match (packs.packs.get(point), numbers) {
                        (Some(pack), Some(numbers)) => {
                            pack_modules.insert(pack.clone(), numbers);
                            modules.insert(point.clone(), vec![format!("/pkg/{pack}")]);
                        }
                        (pack, _) => {
                            if pack.is_some() {
                                tracing::warn!(
                                    point,
                                    "the page packs index does not number every module of this page; it preloads its modules"
                                );
                            }
                            modules.insert(point.clone(), stems.iter().map(|s| format!("/pkg/{s}.wasm")).collect());
                        }
                    }
                }
                Some(SplitManifest { loader: format!("/pkg/{loader}"), modules, stems: packs.modules, pack_modules })
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "the wasm split manifest is unreadable; pages load their modules without preload");
                None
            }
        }
    }

    /// URL of the split loader script.
    pub fn loader(&self) -> &str {
        &self.loader
    }

    /// URLs of the modules the page of the lazy route `route` (the type's name, `BillingRoute`)
    /// needs, its own module first (or of its page pack), or `None` when the manifest has no
    /// such split point.
    /// `#[lazy_route]` names a route's view `__BillingRoute_View`, which leptos turns into the
    /// split point `__billing_route_view_<hash>` with `convert_case`'s snake case (as here, so
    /// digits and acronyms split the same way) and a hash of where the macro was called.
    pub fn page_modules(&self, route: &str) -> Option<&[String]> {
        use convert_case::{Case, Casing};
        let wanted = format!("__{route}_View").to_case(Case::Snake);
        let wanted = wanted.trim_start_matches('_');
        self.modules
            .iter()
            .find(|(point, _)| {
                point.rsplit_once('_').is_some_and(|(name, hash)| {
                    name.trim_start_matches('_') == wanted
                        && !hash.is_empty()
                        && hash.bytes().all(|b| b.is_ascii_digit())
                })
            })
            .map(|(_, modules)| modules.as_slice())
    }

    /// Every module's stem, by the number the packed split loader gives it (see
    /// [`Self::pack_modules`]).
    pub fn stems(&self) -> &[String] {
        &self.stems
    }

    /// The numbers of the modules in the page pack `file` (`page__billing_route_view_<n>.<build
    /// hash>.v<format>.wasmpack`), in the pack's order; `None` for a file that is no page pack.
    pub fn pack_modules(&self, file: &str) -> Option<&[usize]> {
        self.pack_modules.get(file).map(Vec::as_slice)
    }
}

/// The index of the page packs (`scripts/page_packs.py`): `packs`, split point → the pack's
/// file name (`page__billing_route_view_<n>.<build hash>.v<format>.wasmpack`), one file holding
/// all of the page's modules, which the split loader takes its modules from; `modules`, every
/// module's stem in the order of the numbers the loader gives them.
pub const PAGE_PACKS: &str = "page_packs.json";

/// What [`PAGE_PACKS`] holds.
#[derive(Debug, Default, serde::Deserialize)]
struct PackIndex {
    packs: HashMap<String, String>,
    modules: Vec<String>,
}

/// The page packs of `path` ([`PAGE_PACKS`]); none when there is no index (a build before packs,
/// or without `--split`) or it cannot be read (logged: pages then preload their modules).
fn read_packs(path: &Path) -> PackIndex {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!(file = %path.display(), error = %e, "the page packs index is unreadable; pages preload their modules");
            PackIndex::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => PackIndex::default(),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "the page packs index is unreadable; pages preload their modules");
            PackIndex::default()
        }
    }
}

/// Makes the missing compressed twins of the bundle's files in a background thread.
pub fn precompress_in_background(site_root: &Path) {
    let pkg = site_root.join("pkg");
    let spawned = std::thread::Builder::new().name("precompress".into()).spawn(move || {
        let Ok(entries) = std::fs::read_dir(&pkg) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let wanted = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "wasm" | "wasmpack" | "js" | "css"));
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

/// `raw` compressed with brotli at `quality` (0–11), window 4 MiB. The bundle's twins use 11,
/// once per file; [`super::partial_packs`] 9, once per set of modules asked for (then cached).
pub(crate) fn brotli_bytes(raw: &[u8], quality: i32) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() / 3);
    let params = brotli::enc::BrotliEncoderParams { quality, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut std::io::Cursor::new(raw), &mut out, &params)?;
    Ok(out)
}

/// `raw` compressed with gzip at `level`.
pub(crate) fn gzip_bytes(raw: &[u8], level: flate2::Compression) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 3), level);
    encoder.write_all(raw)?;
    encoder.finish()
}

/// The bundle's brotli twin: the best compression, made once per file.
fn brotli_twin(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    brotli_bytes(raw, 11)
}

/// The bundle's gzip twin: the best compression, made once per file.
fn gzip_twin(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    gzip_bytes(raw, flate2::Compression::best())
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

    #[test]
    fn split_manifest_names_a_pages_modules_by_its_route() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        let hash_file = dir.join("hash.txt");
        std::fs::write(&hash_file, "js: aaa\nwasm: bbb\nsplit: ccc\nmanifest: ddd\n").unwrap();
        assert_eq!(SplitManifest::load(&dir, Some(&hash_file)), None, "no manifest: not a split build");
        std::fs::write(
            dir.join("pkg/__wasm_split_manifest.ddd.json"),
            r#"{"__billing_route_view_123": ["chunk_1.x", "split___billing_route_view_123.y"],
                "__admin_orgs_route_view_45": ["chunk_1.x", "chunk_2.z"],
                "__admin_org_route_view_67": ["chunk_3.w"]}"#,
        )
        .unwrap();
        let manifest = SplitManifest::load(&dir, Some(&hash_file)).expect("read");
        assert_eq!(manifest.loader(), "/pkg/__wasm_split.ccc.js");
        assert_eq!(
            manifest.page_modules("BillingRoute"),
            Some(&["/pkg/chunk_1.x.wasm".to_owned(), "/pkg/split___billing_route_view_123.y.wasm".to_owned()][..])
        );
        // `AdminOrgRoute` is not a prefix match of `AdminOrgsRoute`.
        assert_eq!(manifest.page_modules("AdminOrgRoute"), Some(&["/pkg/chunk_3.w.wasm".to_owned()][..]));
        assert_eq!(manifest.page_modules("AdminOrgsRoute").map(<[String]>::len), Some(2));
        assert_eq!(manifest.page_modules("PricingRoute"), None);
        // Leptos's case rule, not a hand-made one: digits and acronyms are words of their own.
        std::fs::write(
            dir.join("pkg/__wasm_split_manifest.ddd.json"),
            r#"{"__oauth_2_route_view_9": ["split___oauth_2_route_view_9.a"], "__http_route_view_8": ["split___http_route_view_8.b"]}"#,
        )
        .unwrap();
        let manifest = SplitManifest::load(&dir, Some(&hash_file)).expect("read");
        assert_eq!(
            manifest.page_modules("Oauth2Route"),
            Some(&["/pkg/split___oauth_2_route_view_9.a.wasm".to_owned()][..])
        );
        assert_eq!(manifest.page_modules("HTTPRoute"), Some(&["/pkg/split___http_route_view_8.b.wasm".to_owned()][..]));
        // With page packs, a packed page names its pack; one left out of the index its modules.
        std::fs::write(
            dir.join("pkg/page_packs.json"),
            r#"{"packs": {"__oauth_2_route_view_9": "page__oauth_2_route_view_9.h.wasmpack"},
                "modules": ["split___oauth_2_route_view_9.a"]}"#,
        )
        .unwrap();
        let manifest = SplitManifest::load(&dir, Some(&hash_file)).expect("read");
        assert_eq!(
            manifest.page_modules("Oauth2Route"),
            Some(&["/pkg/page__oauth_2_route_view_9.h.wasmpack".to_owned()][..])
        );
        assert_eq!(manifest.page_modules("HTTPRoute"), Some(&["/pkg/split___http_route_view_8.b.wasm".to_owned()][..]));
        assert_eq!(manifest.pack_modules("page__oauth_2_route_view_9.h.wasmpack"), Some(&[0][..]));
        assert_eq!(manifest.pack_modules("split___http_route_view_8.b.wasm"), None);
        assert_eq!(manifest.stems(), ["split___oauth_2_route_view_9.a"]);
        // A pack whose modules the index does not number is not used.
        std::fs::write(
            dir.join("pkg/page_packs.json"),
            r#"{"packs": {"__oauth_2_route_view_9": "page__oauth_2_route_view_9.h.wasmpack"}, "modules": []}"#,
        )
        .unwrap();
        let manifest = SplitManifest::load(&dir, Some(&hash_file)).expect("read");
        assert_eq!(
            manifest.page_modules("Oauth2Route"),
            Some(&["/pkg/split___oauth_2_route_view_9.a.wasm".to_owned()][..])
        );
        assert_eq!(manifest.pack_modules("page__oauth_2_route_view_9.h.wasmpack"), None);
        std::fs::write(dir.join("pkg/page_packs.json"), "[broken").unwrap();
        let manifest = SplitManifest::load(&dir, Some(&hash_file)).expect("an unreadable pack index is no packs");
        assert_eq!(
            manifest.page_modules("Oauth2Route"),
            Some(&["/pkg/split___oauth_2_route_view_9.a.wasm".to_owned()][..])
        );
        std::fs::write(dir.join("pkg/__wasm_split_manifest.ddd.json"), "{not json").unwrap();
        assert_eq!(SplitManifest::load(&dir, Some(&hash_file)), None, "an unreadable manifest is no manifest");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tariff-assets-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
