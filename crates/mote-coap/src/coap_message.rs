//! mote-coap's messages behind the embedded CoAP ecosystem's message traits (the
//! [`coap-message`](https://docs.rs/coap-message) crate, used by the Ariel OS and RIOT Rust CoAP
//! stacks and by every `coap-handler` resource), enabled by the `coap-message` feature.
//!
//! - [`Message`] (a decoded datagram, no allocation) and [`OwnedMessage`] (with `alloc`)
//!   implement [`ReadableMessage`] and [`WithSortedOptions`]: a handler written against the
//!   traits reads our requests;
//! - [`OwnedMessage`] implements [`MinimalWritableMessage`] and [`MutableWritableMessage`]: a
//!   handler writes its response into one, which then encodes with
//!   [`OwnedMessage::to_vec`] or [`OwnedMessage::encode`];
//! - [`Code`] and [`OptionNumber`] are the traits' code and option-number types, so nothing is
//!   a bare integer on our side.
//!
//! [`OwnedMessage`]: crate::message::OwnedMessage
//! [`OwnedMessage::to_vec`]: crate::message::OwnedMessage::to_vec
//! [`OwnedMessage::encode`]: crate::message::OwnedMessage::encode
//! [`MinimalWritableMessage`]: ::coap_message::MinimalWritableMessage
//! [`MutableWritableMessage`]: ::coap_message::MutableWritableMessage
//!
//! The traits carry no message type, Message ID or token: those stay with the caller (or the
//! endpoint), which copies them from request to response as RFC 7252 §5.3.2 asks.
//!
//! ```
//! use mote_coap::coap_message::traits::{MessageOption as _, MinimalWritableMessage, ReadableMessage};
//! use mote_coap::code::{Code, MessageType};
//! use mote_coap::message::{Message, OwnedMessage};
//! use mote_coap::option::OptionNumber;
//!
//! // RFC 7252 Figure 17: a CON GET for /temperature, read through the trait.
//! let request = Message::decode(b"\x41\x01\x7d\x35\x20\xbbtemperature")?;
//! let path: Vec<Vec<u8>> = ReadableMessage::options(&request).map(|o| o.value().to_vec()).collect();
//! assert_eq!(path, [b"temperature"]);
//! assert_eq!(ReadableMessage::code(&request), Code::GET);
//!
//! // The piggybacked answer, written through the trait; the header fields are ours to set.
//! let mut response = OwnedMessage::new(MessageType::Ack, Code::EMPTY, request.message_id())
//!     .with_token(request.token());
//! response.set_code(Code::CONTENT);
//! response.add_option_uint(OptionNumber::CONTENT_FORMAT, 0u16)?;
//! response.set_payload(b"22.3 C")?;
//! assert_eq!(response.to_vec()?, b"\x61\x45\x7d\x35\x20\xc0\xff22.3 C"); // RFC 7252 Figure 17
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use ::coap_message::{MessageOption, ReadableMessage, WithSortedOptions};
use core::convert::Infallible;

use crate::code::Code;
use crate::message::Message;
use crate::option::{OptionNumber, OptionRef, Options};

/// Re-export of the `coap-message` crate at the version these implementations are for, so a
/// user names the traits without choosing a version of their own.
pub use ::coap_message as traits;

impl ::coap_message::Code for Code {
    type Error = Infallible;

    /// Every 8-bit code is representable (RFC 7252 §3: class and detail); whether it is valid
    /// for a message type is checked when the message is encoded.
    fn new(code: u8) -> Result<Self, Infallible> {
        Ok(Self(code))
    }
}

impl ::coap_message::OptionNumber for OptionNumber {
    type Error = Infallible;

    /// Every 16-bit option number is representable (RFC 7252 §3.1).
    fn new(option: u16) -> Result<Self, Infallible> {
        Ok(Self(option))
    }
}

impl MessageOption for OptionRef<'_> {
    fn number(&self) -> u16 {
        self.number.0
    }

    fn value(&self) -> &[u8] {
        self.value
    }
}

impl<'a> ReadableMessage for Message<'a> {
    type Code = Code;
    type MessageOption<'b>
        = OptionRef<'b>
    where
        Self: 'b;
    type OptionsIter<'b>
        = Options<'b>
    where
        Self: 'b;

    fn code(&self) -> Code {
        Message::code(self)
    }

    /// The options in wire order, which RFC 7252 §3.1 makes ascending.
    fn options(&self) -> Options<'_> {
        Message::options(self)
    }

    fn payload(&self) -> &[u8] {
        Message::payload(self)
    }
}

/// The option deltas of RFC 7252 §3.1 are unsigned: a decoded message's options ascend.
impl WithSortedOptions for Message<'_> {}

#[cfg(feature = "alloc")]
pub use owned::OwnedOptions;

#[cfg(feature = "alloc")]
mod owned {
    use ::coap_message::{
        MinimalWritableMessage, MutableWritableMessage, ReadableMessage, WithSortedOptions,
    };
    use alloc::vec::Vec;
    use core::convert::Infallible;

    use crate::code::Code;
    use crate::message::OwnedMessage;
    use crate::option::{OptionList, OptionNumber, OptionRef, OwnedOption};

    /// The options of an [`OwnedMessage`] in ascending order, as [`ReadableMessage::options`]
    /// returns them.
    #[derive(Debug, Clone)]
    pub struct OwnedOptions<'a>(core::slice::Iter<'a, OwnedOption>);

    impl<'a> Iterator for OwnedOptions<'a> {
        type Item = OptionRef<'a>;

        fn next(&mut self) -> Option<OptionRef<'a>> {
            self.0.next().map(OwnedOption::as_ref)
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            self.0.size_hint()
        }
    }

    impl ExactSizeIterator for OwnedOptions<'_> {}

    impl ReadableMessage for OwnedMessage {
        type Code = Code;
        type MessageOption<'b>
            = OptionRef<'b>
        where
            Self: 'b;
        type OptionsIter<'b>
            = OwnedOptions<'b>
        where
            Self: 'b;

        fn code(&self) -> Code {
            self.code
        }

        fn options(&self) -> OwnedOptions<'_> {
            OwnedOptions(self.options.as_slice().iter())
        }

        fn payload(&self) -> &[u8] {
            &self.payload
        }
    }

    /// [`OptionList`] keeps its options in ascending order.
    impl WithSortedOptions for OwnedMessage {}

    /// RFC 7252 §4.6: a message should fit in one datagram without IP fragmentation; 1152 bytes
    /// is the specification's own upper bound for a message when nothing is known about the
    /// path MTU. [`MutableWritableMessage::available_space`] reports what is left of it, so a
    /// handler chooses a block size (RFC 7959) that fits a datagram.
    const DATAGRAM_BUDGET: usize = 1152;

    /// Options may be added in any order (the [`OptionList`] sorts them; same-number options
    /// keep the order they were added in, RFC 7252 §5.4.5); nothing fails here, the lengths are
    /// checked when the message is encoded ([`OwnedMessage::validate`]).
    impl MinimalWritableMessage for OwnedMessage {
        type Code = Code;
        type OptionNumber = OptionNumber;
        type AddOptionError = Infallible;
        type SetPayloadError = Infallible;
        type UnionError = Infallible;

        fn set_code(&mut self, code: Code) {
            self.code = code;
        }

        fn add_option(&mut self, number: OptionNumber, value: &[u8]) -> Result<(), Infallible> {
            self.options.push(number, value);
            Ok(())
        }

        fn set_payload(&mut self, data: &[u8]) -> Result<(), Infallible> {
            self.payload.clear();
            self.payload.extend_from_slice(data);
            Ok(())
        }

        fn promote_to_mutable_writable_message(
            &mut self,
        ) -> Option<
            &mut impl MutableWritableMessage<
                Code = Code,
                OptionNumber = OptionNumber,
                AddOptionError = Infallible,
                SetPayloadError = Infallible,
                UnionError = Infallible,
            >,
        > {
            Some(self)
        }
    }

    impl MutableWritableMessage for OwnedMessage {
        /// What is left of the 1152 bytes RFC 7252 §4.6 allows a message when nothing is known
        /// about the path MTU (the message itself can grow beyond it).
        fn available_space(&self) -> usize {
            DATAGRAM_BUDGET.saturating_sub(self.encoded_len())
        }

        /// Sets the payload to `len` bytes (zeros where it grows) and returns it for writing.
        fn payload_mut_with_len(&mut self, len: usize) -> Result<&mut [u8], Infallible> {
            self.payload.resize(len, 0);
            Ok(&mut self.payload)
        }

        /// Shortens the payload to `len` bytes; a longer `len` leaves it as it is.
        fn truncate(&mut self, len: usize) -> Result<(), Infallible> {
            self.payload.truncate(len);
            Ok(())
        }

        /// Hands every option's value to `callback`, in ascending order, to change in place.
        fn mutate_options<F>(&mut self, mut callback: F)
        where
            F: FnMut(OptionNumber, &mut [u8]),
        {
            let mut options: Vec<OwnedOption> = self.options.as_slice().to_vec();
            for option in &mut options {
                callback(option.number, &mut option.value);
            }
            // Numbers are unchanged, so the order is too.
            self.options = options
                .iter()
                .map(OwnedOption::as_ref)
                .collect::<OptionList>();
        }
    }
}
