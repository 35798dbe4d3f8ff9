//! EDHOC over CoAP (RFC 9528 Appendix A.2) and the EDHOC + OSCORE request (RFC 9668).
#![cfg(feature = "std")] // the tests build MoteCrypto from the OS random source
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use mote_edhoc::transport::{self, ClientPayload};
use mote_edhoc::*;

#[test]
fn payload_prefixes() {
    let m1 = [0x03, 0x02, 0x41, 0x00, 0x0e];
    let p = transport::message_1_payload(&m1).unwrap();
    assert_eq!(p.as_slice()[0], 0xf5);
    assert_eq!(
        transport::parse_client_payload(p.as_slice()).unwrap(),
        ClientPayload::NewSession { message_1: &m1 }
    );
    // RFC 9668 §3.4: C_R 0x01 is prepended as the CBOR int 1.
    let p =
        transport::prefixed_payload(&ConnId::from_slice(&[0x01]).unwrap(), &[0x52, 0xaa]).unwrap();
    assert_eq!(p.as_slice(), &[0x01, 0x52, 0xaa]);
    let ClientPayload::Session { c_r, message } =
        transport::parse_client_payload(p.as_slice()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (c_r.as_bytes(), message),
        (&[0x01u8][..], &[0x52u8, 0xaa][..])
    );
    // A bstr C_R, and rejections.
    let p =
        transport::prefixed_payload(&ConnId::from_slice(&[0x99, 0x98]).unwrap(), &[0x40]).unwrap();
    assert_eq!(p.as_slice(), &[0x42, 0x99, 0x98, 0x40]);
    assert!(transport::parse_client_payload(&[]).is_err());
    assert!(transport::parse_client_payload(&[0x41, 0x01, 0x40]).is_err());
}

#[cfg(feature = "oscore")]
mod with_coap {
    use super::*;
    use common::Vectors;
    use mote_coap::code::Code;
    use mote_coap::message::Message;
    use mote_coap::option::OptionNumber;
    use mote_edhoc::MessageBuf;
    use mote_oscore::Framing;

    #[test]
    fn rfc9668_figure_4_combine_and_split() {
        let v = Vectors::load("rfc9668_figure4.txt");
        let combined = v.get("combined_request");
        // The OSCORE request before combining: same header/token/options, payload = ciphertext.
        let mut oscore_request = combined[..8].to_vec();
        oscore_request.push(0x93);
        oscore_request.extend_from_slice(v.get("oscore_option"));
        oscore_request.push(0xff);
        oscore_request.extend_from_slice(v.get("oscore_ciphertext"));
        let mut out = [0u8; 128];
        let n = transport::combine_request(&oscore_request, v.get("message_3"), &mut out).unwrap();
        common::eq("EDHOC + OSCORE request", &out[..n], combined);

        let mut rebuilt = [0u8; 128];
        let split = transport::split_combined_request(combined, &mut rebuilt).unwrap();
        assert_eq!(split.c_r.as_bytes(), &[0x01]);
        assert_eq!(split.message_3, v.get("message_3"));
        assert_eq!(
            &rebuilt[..split.oscore_request_len],
            oscore_request.as_slice()
        );
        // §3.1: a repeated EDHOC option is refused.
        let mut twice = combined[..8].to_vec();
        twice.push(0x93);
        twice.extend_from_slice(v.get("oscore_option"));
        twice.extend_from_slice(&[0xc0, 0x00]); // option 21, then 21 again (delta 0)
        twice.push(0xff);
        twice.extend_from_slice(Message::decode(combined).unwrap().payload());
        assert!(Message::decode(&twice).is_ok());
        assert!(matches!(
            transport::split_combined_request(&twice, &mut rebuilt),
            Err(Error::Transport(_))
        ));
        // Step 1: no OSCORE option or no message_3 → 4.00.
        assert!(transport::split_combined_request(&oscore_request, &mut rebuilt).is_err());
        let mut no_m3 = combined[..13].to_vec();
        no_m3.extend_from_slice(&[0xff, 0x01]);
        assert!(transport::split_combined_request(&no_m3, &mut rebuilt).is_err());
    }

    /// The forward message flow over CoAP messages, ending with the combined request.
    #[test]
    fn forward_flow_with_combined_request() {
        let suite = CipherSuite::from_id(2).unwrap();
        let id_i = common::identity(&suite, true, "client", b"\x0c", false);
        let id_r = common::identity(&suite, true, "server", b"\x0d", false);
        let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
        let client = Initiator::new(
            MoteCrypto::new(),
            InitiatorConfig::new(Method::StaticStatic, 2, id_i),
        );
        let server = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
        let mut buf = [0u8; 512];

        // Client: POST /.well-known/edhoc, payload true, message_1.
        let (client, m1) = client
            .prepare_message_1(ConnId::from_int(-24).unwrap(), &Ead::new())
            .unwrap();
        let n = transport::write_request(
            &mut buf,
            1,
            &[0xa1],
            transport::message_1_payload(m1.as_slice())
                .unwrap()
                .as_slice(),
        )
        .unwrap();
        let req = Message::decode(&buf[..n]).unwrap();
        assert!(transport::is_edhoc_request(&req));
        assert_eq!(
            req.uint_option(OptionNumber::CONTENT_FORMAT).unwrap(),
            Some(65)
        );
        let ClientPayload::NewSession { message_1 } =
            transport::parse_client_payload(req.payload()).unwrap()
        else {
            panic!()
        };

        // Server: 2.04 with message_2, Content-Format 64.
        let (server, m2) = server
            .process_message_1(message_1)
            .unwrap()
            .prepare_message_2(ConnId::from_int(1).unwrap(), &Ead::new())
            .unwrap();
        let mut rbuf = [0u8; 512];
        let n = transport::write_response(&mut rbuf, 1, &[0xa1], m2.as_slice(), None).unwrap();
        let resp = Message::decode(&rbuf[..n]).unwrap();
        assert_eq!(resp.code(), Code::CHANGED);
        assert_eq!(
            resp.uint_option(OptionNumber::CONTENT_FORMAT).unwrap(),
            Some(64)
        );

        // Client: verify, message_3, OSCORE context, protect the first request, combine.
        let client = client
            .parse_message_2(resp.payload())
            .unwrap()
            .verify_message_2(&cred_r)
            .unwrap();
        let (client, m3) = client.prepare_message_3(&Ead::new()).unwrap();
        let mut client_session = client.finish().unwrap();
        let mut client_ctx = client_session
            .oscore_parameters()
            .unwrap()
            .security_context()
            .unwrap();
        let get = [0x41, 0x01, 0x00, 0x02, 0xa2, 0xb4, b't', b'e', b'm', b'p'];
        let mut prot = [0u8; 128];
        let (n, mut binding) = client_ctx
            .protect_request(Framing::Udp, &get, &mut prot)
            .unwrap();
        let mut combined = [0u8; 256];
        let n = transport::combine_request(&prot[..n], m3.as_slice(), &mut combined).unwrap();

        // Server: split, find the session by C_R, complete EDHOC, unprotect, answer.
        let mut rebuilt = [0u8; 256];
        let split = transport::split_combined_request(&combined[..n], &mut rebuilt).unwrap();
        assert_eq!(&split.c_r, server.c_r());
        let verified = server
            .parse_message_3(split.message_3)
            .unwrap()
            .verify_message_3(&cred_i)
            .unwrap();
        let mut server_session = verified.finish().unwrap();
        let mut server_ctx = server_session
            .oscore_parameters()
            .unwrap()
            .security_context()
            .unwrap();
        let mut plain = [0u8; 128];
        let req = server_ctx
            .unprotect_request(
                Framing::Udp,
                &rebuilt[..split.oscore_request_len],
                &mut plain,
            )
            .unwrap();
        assert_eq!(&plain[..req.len], &get);
        let mut b = req.binding;
        let content = [0x61, 0x45, 0x00, 0x02, 0xa2, 0xff, b'2', b'2'];
        let n = server_ctx
            .protect_response(Framing::Udp, &mut b, &content, false, &mut prot)
            .unwrap();
        let m = client_ctx
            .unprotect_response(Framing::Udp, &mut binding, &prot[..n], &mut plain)
            .unwrap();
        assert_eq!(&plain[..m], &content);
    }

    /// RFC 9668 §3.3.1: a failed EDHOC step of the combined request is answered with ERR_CODE
    /// 1, even for an unknown credential (ERR_CODE 3 in the sequential flow).
    #[test]
    fn combined_request_errors_use_err_code_1() {
        let msg = transport::combined_request_error(&Error::UnknownCredential).unwrap();
        assert_eq!(
            ErrorMessage::parse(msg.as_slice()).unwrap(),
            ErrorMessage::Unspecified("unknown credential referenced")
        );
        let msg = transport::combined_request_error(&Error::AuthenticationFailed).unwrap();
        assert_eq!(msg.as_slice()[0], 0x01);
    }

    #[test]
    fn error_responses() {
        let e = Error::UnknownCredential;
        let msg = ErrorMessage::for_error(&e).unwrap();
        let mut buf = [0u8; 64];
        let n = transport::write_response(
            &mut buf,
            7,
            &[],
            msg.as_slice(),
            Some(transport::error_response_code(&e)),
        )
        .unwrap();
        let resp = Message::decode(&buf[..n]).unwrap();
        assert_eq!(resp.code(), Code::BAD_REQUEST);
        assert_eq!(
            resp.uint_option(OptionNumber::CONTENT_FORMAT).unwrap(),
            Some(64)
        );
        assert_eq!(resp.payload(), &[0x03, 0xf5]);
        assert_eq!(
            transport::error_response_code(&Error::Crypto),
            Code::INTERNAL_SERVER_ERROR
        );
    }

    /// A method 3 / suite 2 handshake up to message_3 over the library calls, returning the
    /// client's OSCORE context, message_3, the waiting server and CRED_I.
    fn up_to_message_3() -> (
        mote_oscore::SecurityContext,
        MessageBuf,
        ResponderWaitM3<MoteCrypto<rand_core::OsRng>>,
        Credential,
    ) {
        let suite = CipherSuite::from_id(2).unwrap();
        let id_i = common::identity(&suite, true, "client", b"\x0c", false);
        let id_r = common::identity(&suite, true, "server", b"\x0d", false);
        let (cred_i, cred_r) = (id_i.credential.clone(), id_r.credential.clone());
        let client = Initiator::new(
            MoteCrypto::new(),
            InitiatorConfig::new(Method::StaticStatic, 2, id_i),
        );
        let server = Responder::new(MoteCrypto::new(), ResponderConfig::new(2, id_r));
        let (client, m1) = client
            .prepare_message_1(ConnId::from_int(-24).unwrap(), &Ead::new())
            .unwrap();
        let (server, m2) = server
            .process_message_1(m1.as_slice())
            .unwrap()
            .prepare_message_2(ConnId::from_int(1).unwrap(), &Ead::new())
            .unwrap();
        let (client, m3) = client
            .parse_message_2(m2.as_slice())
            .unwrap()
            .verify_message_2(&cred_r)
            .unwrap()
            .prepare_message_3(&Ead::new())
            .unwrap();
        let ctx = client
            .finish()
            .unwrap()
            .oscore_parameters()
            .unwrap()
            .security_context()
            .unwrap();
        (ctx, m3, server, cred_i)
    }

    /// CON POST /big with an inner Block1 option `num/more/16` and `payload`.
    fn post_block(num: u32, more: bool, payload: &[u8], buf: &mut [u8]) -> usize {
        use mote_coap::code::MessageType;
        use mote_coap::message::MessageWriter;
        let mut w = MessageWriter::new(
            buf,
            MessageType::Con,
            Code::POST,
            0x100 + num as u16,
            &[0x5a],
        )
        .unwrap();
        w.option(OptionNumber::URI_PATH, b"big").unwrap();
        w.uint_option(OptionNumber::BLOCK1, (num << 4) | (u32::from(more) << 3))
            .unwrap();
        w.payload(payload).unwrap()
    }

    /// RFC 9668 §3.2.2: with inner Block1, only the first inner block becomes the EDHOC +
    /// OSCORE request (step A: later blocks go out as plain OSCORE requests, without the EDHOC
    /// option); a COMB_PAYLOAD larger than MAX_UNFRAGMENTED_SIZE falls back to the sequential
    /// flow (step B). The server completes EDHOC on the first block and unprotects both.
    #[test]
    fn rfc9668_3_2_2_inner_blockwise_combines_only_the_first_block() {
        let (mut client_ctx, m3, server, cred_i) = up_to_message_3();
        let body: [u8; 20] = core::array::from_fn(|i| i as u8);
        let (mut b0, mut b1) = ([0u8; 64], [0u8; 64]);
        let n0 = post_block(0, true, &body[..16], &mut b0);
        let n1 = post_block(1, false, &body[16..], &mut b1);
        let (mut p0, mut p1) = ([0u8; 128], [0u8; 128]);
        let (np0, _) = client_ctx
            .protect_request(Framing::Udp, &b0[..n0], &mut p0)
            .unwrap();
        let (np1, _) = client_ctx
            .protect_request(Framing::Udp, &b1[..n1], &mut p1)
            .unwrap();

        // Step B: COMB_PAYLOAD over MAX_UNFRAGMENTED_SIZE → sequential flow.
        let mut combined = [0u8; 256];
        let too_small = m3.len() + Message::decode(&p0[..np0]).unwrap().payload().len() - 1;
        assert_eq!(
            transport::combine_request_block(
                &b0[..n0],
                &p0[..np0],
                m3.as_slice(),
                too_small,
                &mut combined
            )
            .unwrap(),
            transport::CombinedBlock::Sequential
        );
        // First inner block: the EDHOC + OSCORE request.
        let transport::CombinedBlock::Combined(n) = transport::combine_request_block(
            &b0[..n0],
            &p0[..np0],
            m3.as_slice(),
            1024,
            &mut combined,
        )
        .unwrap() else {
            panic!("first inner block must be combined")
        };
        let sent = Message::decode(&combined[..n]).unwrap();
        assert!(sent.option(OptionNumber(transport::EDHOC_OPTION)).is_some());
        // Step A: a non-first inner block is sent as the OSCORE request, no EDHOC option.
        assert_eq!(
            transport::combine_request_block(
                &b1[..n1],
                &p1[..np1],
                m3.as_slice(),
                1024,
                &mut combined
            )
            .unwrap(),
            transport::CombinedBlock::NonFirstBlock
        );
        assert!(
            Message::decode(&p1[..np1])
                .unwrap()
                .option(OptionNumber(transport::EDHOC_OPTION))
                .is_none()
        );

        // Server (§3.3.1): the first block completes EDHOC, both blocks unprotect in order.
        let mut rebuilt = [0u8; 256];
        let split = transport::split_combined_request(&combined[..n], &mut rebuilt).unwrap();
        let mut server_ctx = server
            .parse_message_3(split.message_3)
            .unwrap()
            .verify_message_3(&cred_i)
            .unwrap()
            .finish()
            .unwrap()
            .oscore_parameters()
            .unwrap()
            .security_context()
            .unwrap();
        let mut plain = [0u8; 128];
        let r0 = server_ctx
            .unprotect_request(
                Framing::Udp,
                &rebuilt[..split.oscore_request_len],
                &mut plain,
            )
            .unwrap();
        assert_eq!(&plain[..r0.len], &b0[..n0]);
        // Step 8: the decrypted request carries no EDHOC option; one would be refused.
        transport::check_decrypted_request(&plain[..r0.len]).unwrap();
        let mut with_edhoc = [0u8; 64];
        let n = {
            use mote_coap::code::MessageType;
            use mote_coap::message::MessageWriter;
            let mut w =
                MessageWriter::new(&mut with_edhoc, MessageType::Con, Code::POST, 1, &[]).unwrap();
            w.option(OptionNumber(transport::EDHOC_OPTION), &[])
                .unwrap();
            w.payload(&[]).unwrap()
        };
        assert!(transport::check_decrypted_request(&with_edhoc[..n]).is_err());
        let r1 = server_ctx
            .unprotect_request(Framing::Udp, &p1[..np1], &mut plain)
            .unwrap();
        assert_eq!(&plain[..r1.len], &b1[..n1]);
    }

    /// RFC 9668 §3.3.2: an EDHOC + OSCORE request fragmented with outer Block1 options is
    /// processed only once all blocks are there; a lone block is refused, the reassembled
    /// payload gives back message_3 and the OSCORE request without the outer block options.
    #[test]
    fn rfc9668_3_3_2_outer_blockwise_is_reassembled_first() {
        use mote_coap::code::MessageType;
        use mote_coap::message::MessageWriter;
        let v = Vectors::load("rfc9668_figure4.txt");
        let combined = Message::decode(v.get("combined_request")).unwrap();
        let body = combined.payload();
        assert!(body.len() > 16);
        // Outer blocks of 16 bytes: the combined request's options plus Block1 (and Size1).
        let block = |num: u32, more: bool, buf: &mut [u8]| {
            let mut w = MessageWriter::new(
                buf,
                MessageType::Con,
                combined.code(),
                combined.message_id(),
                combined.token(),
            )
            .unwrap();
            for o in combined.options() {
                w.option(o.number, o.value).unwrap();
            }
            w.uint_option(OptionNumber::BLOCK1, (num << 4) | (u32::from(more) << 3))
                .unwrap();
            w.uint_option(OptionNumber::SIZE1, body.len() as u32)
                .unwrap();
            let start = num as usize * 16;
            w.payload(&body[start..body.len().min(start + 16)]).unwrap()
        };
        let (mut first, mut last) = ([0u8; 128], [0u8; 128]);
        let nf = block(0, true, &mut first);
        let last_num = (body.len() as u32 - 1) / 16;
        let nl = block(last_num, false, &mut last);
        let mut rebuilt = [0u8; 128];
        assert!(matches!(
            transport::split_combined_request(&first[..nf], &mut rebuilt),
            Err(Error::Transport(_))
        ));
        assert!(transport::split_combined_request(&last[..nl], &mut rebuilt).is_err());

        let split =
            transport::split_reassembled_combined_request(&last[..nl], body, &mut rebuilt).unwrap();
        assert_eq!(split.c_r.as_bytes(), &[0x01]);
        assert_eq!(split.message_3, v.get("message_3"));
        // The OSCORE request of Figure 4 before combining.
        let mut oscore_request = v.get("combined_request")[..8].to_vec();
        oscore_request.push(0x93);
        oscore_request.extend_from_slice(v.get("oscore_option"));
        oscore_request.push(0xff);
        oscore_request.extend_from_slice(v.get("oscore_ciphertext"));
        assert_eq!(
            &rebuilt[..split.oscore_request_len],
            oscore_request.as_slice()
        );
    }

    /// RFC 9668 Figure 4 over TCP: the same request in the message format of RFC 8323 §3.2,
    /// written out by hand, is split natively, and the OSCORE request comes back in that format.
    #[test]
    fn rfc9668_figure_4_split_over_tcp_framing() {
        use transport::Framing as Wire;
        let v = Vectors::load("rfc9668_figure4.txt");
        let m3 = v.get("message_3");
        let ct = v.get("oscore_ciphertext");
        // RFC 8323 §3.2: Len = bytes from the first option to the end of the payload. Options:
        // OSCORE (9) 93 090001, EDHOC (21, delta 12, empty) c0; then ff, message_3 (19 bytes)
        // and the ciphertext (13 bytes): 4 + 1 + 1 + 32 = 38 = 13 + 0x19, so Len nibble 13 with
        // one extension byte 0x19; TKL 4; Code 0.02 (POST); Token 00003974.
        let mut combined = vec![0xd4, 0x19, 0x02, 0x00, 0x00, 0x39, 0x74];
        combined.extend_from_slice(&[0x93, 0x09, 0x00, 0x01, 0xc0, 0xff]);
        combined.extend_from_slice(m3);
        combined.extend_from_slice(ct);
        assert_eq!(combined.len(), 7 + 38);
        // RFC 9668 §3.3.1 step 7: without the EDHOC option and message_3 the body is
        // 4 + 1 + 13 = 18 = 13 + 5 bytes.
        let mut expected = vec![0xd4, 0x05, 0x02, 0x00, 0x00, 0x39, 0x74];
        expected.extend_from_slice(&[0x93, 0x09, 0x00, 0x01, 0xff]);
        expected.extend_from_slice(ct);

        let mut rebuilt = [0u8; 128];
        let split =
            transport::split_combined_request_framed(&combined, Wire::Tcp, &mut rebuilt).unwrap();
        assert_eq!(split.c_r.as_bytes(), &[0x01]);
        assert_eq!(split.message_3, m3);
        assert_eq!(&rebuilt[..split.oscore_request_len], expected.as_slice());
        // The UDP bytes are no TCP frame, and the TCP bytes no UDP message.
        assert!(
            transport::split_combined_request_framed(
                v.get("combined_request"),
                Wire::Tcp,
                &mut rebuilt
            )
            .is_err()
        );
        assert!(transport::split_combined_request(&combined, &mut rebuilt).is_err());
        // Too small an output buffer is an error, not a panic or a truncated frame.
        assert!(
            transport::split_combined_request_framed(
                &combined,
                Wire::Tcp,
                &mut rebuilt[..expected.len() - 1]
            )
            .is_err()
        );
        // Step 1 over TCP too: no EDHOC option (the OSCORE request itself) → 4.00.
        assert!(
            transport::split_combined_request_framed(&expected, Wire::Tcp, &mut rebuilt).is_err()
        );
    }

    /// RFC 8323 §3.2 with a short body and no token (a 2-byte header, shorter than UDP's), and an
    /// option after the EDHOC option whose delta grows when the EDHOC option is removed
    /// (RFC 7252 §3.1); after reassembly (RFC 9668 §3.3.2) Block1 and Size1 are left out too.
    #[test]
    fn tcp_split_rewrites_deltas_and_short_headers() {
        use transport::Framing as Wire;
        let v = Vectors::load("rfc9668_figure4.txt");
        let m3 = v.get("message_3");
        let body: Vec<u8> = [m3, &[0xaa, 0xbb][..]].concat();
        // Options: OSCORE (9) 93 090001; EDHOC (21, delta 12) c0; Block1 (27, delta 6,
        // NUM 0, M 0, SZX 0: empty) 60; Size1 (60, delta 33 = 13 + 20, value 21) d1 14 15.
        let opts = [0x93, 0x09, 0x00, 0x01, 0xc0, 0x60, 0xd1, 0x14, 0x15];
        let mut request = vec![0xd0, 9 + 1 + 21 - 13, 0x02];
        request.extend_from_slice(&opts);
        request.push(0xff);
        request.extend_from_slice(&body);
        let mut rebuilt = [0u8; 64];
        // Not reassembled: only the EDHOC option goes; Block1's delta becomes 18 = 13 + 5.
        // Body 4 + 2 + 3 + 1 + 2 = 12: Len 12 in the first byte, no extension.
        let split =
            transport::split_combined_request_framed(&request, Wire::Tcp, &mut rebuilt).unwrap();
        assert_eq!(split.message_3, m3);
        let expected = [
            0xc0, 0x02, 0x93, 0x09, 0x00, 0x01, 0xd0, 0x05, 0xd1, 0x14, 0x15, 0xff, 0xaa, 0xbb,
        ];
        assert_eq!(&rebuilt[..split.oscore_request_len], &expected[..]);
        // Reassembled: Block1 and Size1 go as well. Body 4 + 1 + 2 = 7: header d0 02 alone.
        let split = transport::split_reassembled_combined_request_framed(
            &request,
            &body,
            Wire::Tcp,
            &mut rebuilt,
        )
        .unwrap();
        let expected = [0x70, 0x02, 0x93, 0x09, 0x00, 0x01, 0xff, 0xaa, 0xbb];
        assert_eq!(&rebuilt[..split.oscore_request_len], &expected[..]);
    }
}
