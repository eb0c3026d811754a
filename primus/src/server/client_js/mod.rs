//! The browser client, served under the pathname.
//!
//! | path | content |
//! |---|---|
//! | `<pathname>/primus.js` | the client as a script: a global `Primus` (or `module.exports`) |
//! | `<pathname>/primus.mjs` | the same client as an ES module (`export default Primus`) |
//! | `<pathname>/primus.client.d.ts` | TypeScript declarations of the client |
//! | `<pathname>/primus.d.ts` | the event maps generated from the registry ([`crate::typescript::typings`]) |
//!
//! `primus.js` is our own implementation of the Primus client API. The
//! server fills in its compiled-in values, like Primus does when it builds
//! its library: the pathname, the default `pingTimeout` (the ping interval
//! plus half of it, rounded, or `false` without heartbeats), the parser name
//! (a browser speaks `json` and `ejson`, and `msgpack` over the WebSocket
//! transformers: with another parser the script throws on load) and the protocol version. Each variant is rendered once and cached.

use super::ServerCore;
use crate::lock;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The client template (placeholders `'{primus::…}'`).
const TEMPLATE: &str = include_str!("primus.js");
/// The TypeScript declarations, served as they are.
const TYPINGS: &str = include_str!("primus.d.ts");

/// Marks the start of the code shared by the script and the ES module.
const BODY_START: &str = "// primus-rs:body:start\n";
/// Marks the end of that code.
const BODY_END: &str = "// primus-rs:body:end\n";
/// The insertion point of the browser parts of plugins: inside the shared
/// code, after `Primus` and `Primus.plugins` exist, so both builds get them.
const PLUGINS_MARKER: &str = "// primus-rs:plugins (the server inserts the browser parts of plugins here)\n";

/// Content type of `primus.js` and `primus.mjs` (as Primus serves it).
pub(crate) const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// Content type of `primus.client.d.ts`.
pub(crate) const TYPESCRIPT: &str = "application/typescript; charset=utf-8";

/// One file of the browser client: its status, content type and body.
pub(crate) struct Asset {
    /// 200; for the typings, 404 when no event is registered and 500 when
    /// they cannot be generated.
    pub(crate) status: http::StatusCode,
    /// The `Content-Type` header value.
    pub(crate) content_type: &'static str,
    /// The file.
    pub(crate) body: Bytes,
}

/// The client file served at `sub_path` (the request path after the
/// pathname), or `None` when `sub_path` is not one of them.
pub(crate) fn asset(core: &ServerCore, sub_path: &str) -> Option<Asset> {
    let (content_type, body) = match sub_path {
        "/primus.js" => (JAVASCRIPT, rendered(core).script.clone()),
        "/primus.mjs" => (JAVASCRIPT, rendered(core).module.clone()),
        "/primus.client.d.ts" => (TYPESCRIPT, Bytes::from_static(TYPINGS.as_bytes())),
        "/primus.d.ts" => {
            // The registry does not change while the program runs.
            // The registry does not change while the program runs. What
            // went wrong is logged once; the client only learns that there
            // are no typings (404: nothing registered) or that they cannot
            // be made (500), never the program's internals.
            static TYPED: OnceLock<Result<Bytes, http::StatusCode>> = OnceLock::new();
            let typed = TYPED.get_or_init(|| match crate::registry::typescript::typings() {
                Ok(typings) => Ok(Bytes::from(typings)),
                Err(crate::registry::typescript::TypingsError::Empty) => Err(http::StatusCode::NOT_FOUND),
                Err(error) => {
                    tracing::error!(%error, "cannot generate the event typings for primus.d.ts");
                    Err(http::StatusCode::INTERNAL_SERVER_ERROR)
                }
            });
            return Some(match typed {
                Ok(body) => Asset {
                    status: http::StatusCode::OK,
                    content_type: TYPESCRIPT,
                    body: body.clone(),
                },
                Err(status) => Asset {
                    status: *status,
                    content_type: "text/plain; charset=utf-8",
                    body: Bytes::from_static(match *status {
                        http::StatusCode::NOT_FOUND => b"no typed events are registered\n",
                        _ => b"the typings cannot be generated\n",
                    }),
                },
            });
        }
        _ => return None,
    };
    Some(Asset {
        status: http::StatusCode::OK,
        content_type,
        body,
    })
}

/// What the compiled-in values depend on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Settings {
    /// The server's pathname, e.g. `/primus`.
    pub(crate) pathname: String,
    /// The server's heartbeat interval; `None` when heartbeats are off.
    pub(crate) ping_interval: Option<Duration>,
    /// The server's parser name, e.g. `json`.
    pub(crate) parser: &'static str,
    /// The server's transformer name (`websockets`, `engine.io`, `sockjs`):
    /// the transport the client speaks.
    pub(crate) transformer: &'static str,
    /// JavaScript of the plugins' browser parts, inserted at the plugin
    /// marker (empty until plugins have browser parts).
    pub(crate) plugins: String,
}

/// Both builds of the client for one set of [`Settings`].
pub(crate) struct Rendered {
    /// `primus.js`.
    pub(crate) script: Bytes,
    /// `primus.mjs`.
    pub(crate) module: Bytes,
}

/// The rendered client for this server, from the cache when possible.
fn rendered(core: &ServerCore) -> Arc<Rendered> {
    static CACHE: OnceLock<Mutex<HashMap<Settings, Arc<Rendered>>>> = OnceLock::new();
    let settings = Settings {
        pathname: core.config.pathname.clone(),
        ping_interval: core.config.ping_interval,
        parser: core.pipeline.parser.name(),
        transformer: core.transformer.name(),
        plugins: core.plugin_scripts(),
    };
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = lock::lock(cache);
    cache
        .entry(settings)
        .or_insert_with_key(|settings| Arc::new(render(settings)))
        .clone()
}

/// Fills the template's placeholders and builds both variants.
pub(crate) fn render(settings: &Settings) -> Rendered {
    let script = TEMPLATE
        .replace("'{primus::pathname}'", &js_string(&settings.pathname))
        .replace("'{primus::pingTimeout}'", &ping_timeout(settings.ping_interval))
        .replace("'{primus::parser}'", &js_string(settings.parser))
        .replace("'{primus::version}'", &js_string(super::spec::PRIMUS_VERSION))
        .replace("'{primus::transformer}'", &js_string(settings.transformer))
        .replacen(
            PLUGINS_MARKER,
            &format!("{PLUGINS_MARKER}{}\n", settings.plugins),
            1,
        );
    let module = es_module(&script);
    Rendered {
        script: Bytes::from(script),
        module: Bytes::from(module),
    }
}

/// The ES module: the header comment, the shared body and a default export.
fn es_module(script: &str) -> String {
    let header = script.find("*/").map_or("", |end| &script[..end + 2]);
    let body = match (script.find(BODY_START), script.find(BODY_END)) {
        (Some(start), Some(end)) if start < end => &script[start + BODY_START.len()..end],
        // The markers are part of the template (checked by the tests below).
        _ => script,
    };
    format!("{header}\n{body}\nexport default Primus;\n")
}

/// The default `pingTimeout` compiled into the client, as JavaScript: the
/// interval plus half of it rounded (`interval + round(interval / 2)`), or
/// `false` when heartbeats are off.
pub(crate) fn ping_timeout(ping_interval: Option<Duration>) -> String {
    match ping_interval.map(|interval| interval.as_millis()) {
        Some(ms) if ms > 0 => (ms + ms.div_ceil(2)).to_string(),
        _ => "false".to_owned(),
    }
}

/// A JavaScript string literal (JSON, plus the two line separators JSON
/// allows raw but old JavaScript engines do not).
fn js_string(value: &str) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "\"\"".to_owned())
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ping_ms: Option<u64>, parser: &'static str) -> Settings {
        Settings {
            pathname: "/realtime".to_owned(),
            ping_interval: ping_ms.map(Duration::from_millis),
            parser,
            transformer: "websockets",
            plugins: String::new(),
        }
    }

    #[test]
    fn every_placeholder_occurs_once() {
        for placeholder in [
            "'{primus::pathname}'",
            "'{primus::pingTimeout}'",
            "'{primus::parser}'",
            "'{primus::version}'",
            "'{primus::transformer}'",
        ] {
            assert_eq!(TEMPLATE.matches(placeholder).count(), 1, "{placeholder}");
        }
        assert_eq!(TEMPLATE.matches(BODY_START).count(), 1);
        assert_eq!(TEMPLATE.matches(BODY_END).count(), 1);
        assert_eq!(TEMPLATE.matches(PLUGINS_MARKER).count(), 1);
        assert!(TEMPLATE.find(BODY_START) < TEMPLATE.find(PLUGINS_MARKER));
        assert!(TEMPLATE.find(PLUGINS_MARKER) < TEMPLATE.find(BODY_END));
    }

    #[test]
    fn plugin_scripts_go_into_both_builds() {
        let mut with_plugin = settings(Some(1000), "json");
        with_plugin.plugins =
            "(function (Primus) { Primus.plugins.hello = function () {}; })(Primus);".into();
        let rendered = render(&with_plugin);
        for file in [&rendered.script, &rendered.module] {
            let text = std::str::from_utf8(file).expect("utf-8");
            let plugin = text.find("Primus.plugins.hello").expect("plugin code");
            assert!(text.find("Primus.plugins = {};") < Some(plugin));
        }
    }

    #[test]
    fn values_are_filled_in() {
        let rendered = render(&settings(Some(30_000), "json"));
        for file in [&rendered.script, &rendered.module] {
            let text = std::str::from_utf8(file).expect("utf-8");
            assert!(!text.contains("{primus::"), "placeholder left");
            assert!(text.contains("pathname: \"/realtime\","));
            assert!(text.contains("pingTimeout: 45000,"));
            assert!(text.contains("parser: \"json\","));
            assert!(text.contains("version: \"8.0.9\""));
        }
    }

    #[test]
    fn the_module_exports_the_class_without_the_wrapper() {
        let rendered = render(&settings(None, "json"));
        let module = std::str::from_utf8(&rendered.module).expect("utf-8");
        assert!(module.starts_with("/*!"));
        assert!(module.ends_with("export default Primus;\n"));
        assert!(!module.contains("module.exports = Primus"));
        assert!(!module.contains("return Primus;"));
        assert!(module.contains("pingTimeout: false,"));
        let script = std::str::from_utf8(&rendered.script).expect("utf-8");
        assert!(script.contains("module.exports = Primus"));
        assert!(!script.contains("export default"));
    }

    #[test]
    fn ping_timeout_is_one_and_a_half_intervals_rounded_like_primus() {
        assert_eq!(ping_timeout(Some(Duration::from_millis(30_000))), "45000");
        assert_eq!(ping_timeout(Some(Duration::from_millis(1000))), "1500");
        assert_eq!(ping_timeout(Some(Duration::from_millis(200))), "300");
        // Math.round(4.5) is 5.
        assert_eq!(ping_timeout(Some(Duration::from_millis(9))), "14");
        assert_eq!(ping_timeout(Some(Duration::ZERO)), "false");
        assert_eq!(ping_timeout(None), "false");
    }

    #[test]
    fn another_parser_is_compiled_in_for_the_load_time_error() {
        let rendered = render(&settings(Some(1000), "bincode"));
        let script = std::str::from_utf8(&rendered.script).expect("utf-8");
        assert!(script.contains("parser: \"bincode\","));
        assert!(script.contains("only speaks \"json\""));
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(js_string("/a\"b"), r#""/a\"b""#);
        assert_eq!(js_string("a\u{2028}b"), r#""a\u2028b""#);
    }
}
