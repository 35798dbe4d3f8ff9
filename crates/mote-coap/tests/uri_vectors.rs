//! RFC 7252 §6 URI examples transcribed in `tests/data/uri/`: Appendix B (options → URI and
//! back), the §6.3 equivalence example, and the default ports of RFC 7252 §6.1/§6.2 and
//! RFC 8323 §8.1/§8.2. Also composition from the options of an encoded message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_coap::uri::{Destination, Scheme, Uri, UriOptions, compose_from_options, compose_string};

fn data(name: &str) -> String {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/uri")
        .join(name);
    fs::read_to_string(p).unwrap()
}

fn destination(text: &str) -> Destination {
    let (ip, port) = text.rsplit_once(':').unwrap();
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    Destination {
        ip: ip.parse().unwrap(),
        port: port.parse().unwrap(),
    }
}

fn quoted(text: &str) -> Vec<u8> {
    text.strip_prefix('"')
        .unwrap()
        .strip_suffix('"')
        .unwrap()
        .as_bytes()
        .to_vec()
}

#[derive(Default, Debug)]
struct Example {
    destination: Option<Destination>,
    host: Option<Vec<u8>>,
    path: Vec<Vec<u8>>,
    query: Vec<Vec<u8>>,
    output: String,
    compose: Option<String>,
}

fn examples() -> Vec<Example> {
    let text = data("rfc7252-appendix-b.txt");
    let mut out = Vec::new();
    let mut cur = Example::default();
    for line in text.lines().chain(std::iter::once("")) {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if cur.destination.is_some() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap();
        match key {
            "destination" => cur.destination = Some(destination(value)),
            "uri-host" => cur.host = Some(quoted(value)),
            "uri-path" => cur.path.push(quoted(value)),
            "uri-path-hex" => cur.path.push(hex::decode(value).unwrap()),
            "uri-query" => cur.query.push(quoted(value)),
            "output" => cur.output = value.to_string(),
            "compose" => cur.compose = Some(value.to_string()),
            other => panic!("unknown key {other}"),
        }
    }
    out
}

/// Uri-Host, Uri-Port, Uri-Path values, Uri-Query values.
type Collected = (Option<Vec<u8>>, Option<u16>, Vec<Vec<u8>>, Vec<Vec<u8>>);

fn collect(o: UriOptions<'_>) -> Collected {
    (
        o.uri_host.map(|h| h.to_vec()),
        o.uri_port,
        o.uri_path.map(|s| s.to_vec()).collect(),
        o.uri_query.map(|s| s.to_vec()).collect(),
    )
}

#[test]
fn rfc7252_appendix_b_compose_and_decompose() {
    let examples = examples();
    assert_eq!(examples.len(), 5);
    for ex in &examples {
        let dest = ex.destination.unwrap();
        let expected = ex.compose.as_deref().unwrap_or(&ex.output);
        let composed = compose_string(
            Scheme::Coap,
            &dest,
            ex.host.as_deref(),
            None,
            ex.path.iter().map(Vec::as_slice),
            ex.query.iter().map(Vec::as_slice),
        )
        .unwrap();
        assert_eq!(composed, expected);
        // §6.4 on both the appendix's text and our output gives back the options.
        for text in [ex.output.as_str(), composed.as_str()] {
            let uri = Uri::parse(text).unwrap();
            let (host, port, path, query) = collect(uri.decompose(&dest));
            assert_eq!(host, ex.host, "{text}");
            assert_eq!(port, None, "{text}");
            assert_eq!(path, ex.path, "{text}");
            assert_eq!(query, ex.query, "{text}");
        }
    }
}

#[test]
fn rfc7252_section_6_3_equivalent_uris() {
    let dest = Destination {
        ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        port: 5683,
    };
    let text = data("rfc7252-6.3-equivalent.txt");
    let uris: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(uris.len(), 3);
    for u in uris {
        let (host, port, path, query) = collect(Uri::parse(u).unwrap().decompose(&dest));
        assert_eq!(host.as_deref(), Some(&b"example.com"[..]), "{u}");
        assert_eq!(port, None, "{u}");
        assert_eq!(
            path,
            vec![b"~sensors".to_vec(), b"temp.xml".to_vec()],
            "{u}"
        );
        assert!(query.is_empty(), "{u}");
    }
}

#[test]
fn default_ports_per_scheme() {
    let text = data("schemes.txt");
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (scheme, port) = line.split_once(' ').unwrap();
        let port: u16 = port.parse().unwrap();
        let s = Scheme::from_name(scheme).unwrap();
        assert_eq!(s.default_port(), port);
        let uri = format!("{scheme}://h/");
        assert_eq!(Uri::parse(&uri).unwrap().effective_port(), port);
        // The default port is elided when composing (§6.5 step 5), any other is kept.
        let dest = Destination {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        };
        let none: [&[u8]; 0] = [];
        assert_eq!(
            compose_string(s, &dest, None, None, none, none).unwrap(),
            format!("{scheme}://127.0.0.1/")
        );
        assert_eq!(
            compose_string(s, &dest, None, Some(port + 1), none, none).unwrap(),
            format!("{scheme}://127.0.0.1:{}/", port + 1)
        );
        n += 1;
    }
    assert_eq!(n, 4);
}

#[test]
fn lwm2m_registration_uri_through_a_message() {
    let dest = Destination {
        ip: "::1".parse().unwrap(),
        port: 5683,
    };
    let uri = Uri::parse("coap://[::1]/rd?ep=device-0001&lt=86400&lwm2m=1.1&b=U").unwrap();
    let options = uri.decompose(&dest);
    let mut msg = OwnedMessage::new(MessageType::Con, Code::POST, 0x1234);
    options.add_to(&mut msg.options);
    let wire = msg.to_vec().unwrap();
    let decoded = Message::decode(&wire).unwrap();
    assert!(decoded.option(OptionNumber::URI_HOST).is_none());
    assert!(decoded.option(OptionNumber::URI_PORT).is_none());
    let mut out = String::new();
    compose_from_options(&mut out, Scheme::Coap, &dest, decoded.options()).unwrap();
    assert_eq!(out, "coap://[::1]/rd?ep=device-0001&lt=86400&lwm2m=1.1&b=U");
    // A different destination port makes Uri-Port appear, and it survives the round trip.
    let other = Destination {
        ip: dest.ip,
        port: 61616,
    };
    let mut msg = OwnedMessage::new(MessageType::Con, Code::GET, 1);
    Uri::parse("coap://Example.com/a%2Fb")
        .unwrap()
        .decompose(&other)
        .add_to(&mut msg.options);
    let wire = msg.to_vec().unwrap();
    let decoded = Message::decode(&wire).unwrap();
    assert_eq!(
        decoded.option(OptionNumber::URI_HOST).unwrap().value,
        b"example.com"
    );
    assert_eq!(
        decoded.uint_option(OptionNumber::URI_PORT).unwrap(),
        Some(5683)
    );
    let mut out = String::new();
    compose_from_options(&mut out, Scheme::Coap, &other, decoded.options()).unwrap();
    assert_eq!(out, "coap://example.com/a%2Fb");
}
