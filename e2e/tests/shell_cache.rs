//! The service worker's cache of the app shell (public/sw.js): a hashed asset
//! is answered from the cache without the network, and what the current page
//! no longer names leaves the cache when a fresh page arrives, so releases do
//! not pile up old wasm in the browser.

use tandem_e2e::{DEADLINE, run_test};

/// A hashed name this build does not have: the server answers it with 404.
const STALE: &str = "/tandem-client-0123456789abcdef_bg.wasm";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_assets_come_from_the_cache_and_old_ones_are_dropped() {
    run_test(
        "hashed_assets_come_from_the_cache_and_old_ones_are_dropped",
        async |ctx| {
            let page = ctx.page().await;
            page.open_editor("/d/e2e-shell-cache").await;
            page.wait_for_service_worker(DEADLINE).await;

            // An asset of an earlier release, left in the cache.
            let body = page
                .eval_with(
                    "const [url] = arguments;
                     return caches.keys()
                       .then((names) => caches.open(names[0]))
                       .then((cache) => cache.put(url, new Response('an earlier release')))
                       .then(() => fetch(url))
                       .then((r) => r.text());",
                    vec![STALE.into()],
                )
                .await;
            assert_eq!(
                body.as_str(),
                Some("an earlier release"),
                "a hashed name is answered from the cache, not by the server's 404"
            );

            // A fresh page names only this release's assets: the old one goes,
            // this release's wasm stays.
            page.reload().await;
            page.wait_for_script(
                "the cache to hold this release's wasm and not the earlier one",
                DEADLINE,
                "return caches.keys()
                   .then((names) => caches.open(names[0]))
                   .then((cache) => cache.keys())
                   .then((keys) => keys.map((k) => new URL(k.url).pathname));",
                |paths| {
                    let paths: Vec<&str> = paths
                        .as_array()?
                        .iter()
                        .filter_map(|p| p.as_str())
                        .collect();
                    let current = paths.iter().any(|p| p.ends_with("_bg.wasm") && *p != STALE);
                    (current && !paths.contains(&STALE)).then_some(())
                },
            )
            .await;
            let status = page
                .eval_with(
                    "return fetch(arguments[0]).then((r) => r.status);",
                    vec![STALE.into()],
                )
                .await;
            assert_eq!(status.as_u64(), Some(404), "the dropped asset is gone");
        },
    )
    .await;
}
