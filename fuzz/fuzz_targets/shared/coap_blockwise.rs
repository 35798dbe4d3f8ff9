//! Properties of the endpoint's block-wise components (`mote_coap::endpoint::blockwise`) under
//! arbitrary datagrams from several peers: nothing panics, every server table stays within
//! its bounds, and the clients end (each `Send` needs a full block or one of a bounded number
//! of restarts). Shared by the `coap_blockwise` fuzz target and the corpus replay test.

use core::time::Duration;

use mote_coap::block::Szx;
use mote_coap::code::Code;
use mote_coap::endpoint::blockwise::{
    Block1Action, Block1Client, Block1ClientConfig, Block1Progress, Block1Server,
    Block1ServerConfig, Block2Client, Block2ClientConfig, Block2Progress, Block2Server,
    Block2ServerConfig, MessageParts,
};
use mote_coap::message::Message;
use mote_coap::option::OptionList;

const B1: Block1ServerConfig = Block1ServerConfig {
    max_body: 256,
    max_transfers_per_peer: 2,
    max_transfers: 4,
    max_buffered_bytes: 512,
    lifetime: Duration::from_secs(10),
    preferred_szx: Szx::S32,
};

const B2: Block2ServerConfig = Block2ServerConfig {
    preferred_szx: Szx::S32,
    max_unsliced: None,
    max_entries_per_peer: 2,
    max_entries: 3,
    max_bytes: 700,
    lifetime: Duration::from_secs(10),
};

const DOWNLOAD: Block2ClientConfig = Block2ClientConfig {
    max_body: 300,
    preferred_szx: Szx::S16,
    early_negotiation: false,
    max_restarts: 2,
    deliver_blocks: false,
};

/// Most `Send`s a download can produce: one per 16-byte block of the limit, per attempt.
const DOWNLOAD_SENDS: u32 = (300 / 16 + 1) * 3;
/// Most `Send`s the upload of 100 bytes can produce: one per block, at most 8 starts.
const UPLOAD_SENDS: u32 = (100 / 16 + 1) * 8;

fn upload_client() -> Option<Block1Client> {
    let config = Block1ClientConfig {
        szx: Szx::S1024,
        response_szx: None,
        download: DOWNLOAD,
    };
    Block1Client::new(Code::PUT, OptionList::new(), vec![0x5a; 100], config, None).ok()
}

/// Input: a sequence of `[header, len, datagram (len bytes)]`; the header's low 2 bits pick
/// the peer, the next 3 bits advance the clock in seconds, the top 3 bits size the
/// application's response body (× 40 bytes).
pub(crate) fn blockwise(data: &[u8]) {
    let mut b1: Block1Server<u8> = Block1Server::new(B1);
    let mut b2: Block2Server<u8> = Block2Server::new(B2);
    let mut download = Block2Client::new(Code::GET, OptionList::new(), DOWNLOAD);
    let mut download_sends = 0u32;
    let mut upload = upload_client();
    let mut upload_sends = 0u32;
    let mut now = Duration::from_secs(100);
    let mut rest = data;
    while let [header, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (datagram, next) = tail.split_at(len);
        rest = next;
        let peer = header & 3;
        now += Duration::from_secs(u64::from((header >> 2) & 7));
        let body_len = usize::from(header >> 5) * 40;
        let Ok(message) = Message::decode(datagram) else {
            continue;
        };
        if message.code().is_request() {
            if b2
                .serve_cached(&peer, &message, now)
                .is_ok_and(|r| r.is_some())
            {
                continue;
            }
            if let Ok(Block1Action::Complete { .. } | Block1Action::NotBlockwise) =
                b1.handle(&peer, &message, now)
            {
                let mut response = MessageParts::new(Code::CONTENT);
                response.payload = vec![0xa5; body_len];
                let _ = b2.respond(&peer, &message, response, now);
            }
            assert!(b1.len() <= B1.max_transfers);
            assert!(b1.peer_len(&peer) <= B1.max_transfers_per_peer);
            assert!(b1.bytes_held() <= B1.max_buffered_bytes);
            assert!(b2.len() <= B2.max_entries);
            assert!(b2.peer_len(&peer) <= B2.max_entries_per_peer);
            assert!(b2.bytes_held() <= B2.max_bytes);
            if let Some(t) = b1.poll_timeout() {
                assert!(t > now, "an expired transfer survived");
            }
        } else {
            match download.handle_response(&message) {
                Ok(Block2Progress::Send(_)) => {
                    download_sends += 1;
                    assert!(download_sends <= DOWNLOAD_SENDS, "the download never ends");
                    assert!(download.bytes_held() <= DOWNLOAD.max_body);
                }
                _ => {
                    download = Block2Client::new(Code::GET, OptionList::new(), DOWNLOAD);
                    download_sends = 0;
                }
            }
            if let Some(client) = upload.as_mut() {
                match client.handle_response(&message) {
                    Ok(Block1Progress::Send(_)) => {
                        upload_sends += 1;
                        assert!(upload_sends <= UPLOAD_SENDS, "the upload never ends");
                    }
                    _ => {
                        upload = upload_client();
                        upload_sends = 0;
                    }
                }
            }
        }
    }
}
