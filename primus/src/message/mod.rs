//! Events and messages: what the bytes of a frame mean to an application.
//!
//! * [`Message`]: one incoming message as it arrived, with the parser that
//!   decodes it (what `data` handlers receive).
//! * [`event`]: typed events, the traits `#[primus::event]` implements and
//!   their wire shape; [`envelope`] reads the fields messages are routed by.
//! * [`transform`]: rewriting, dropping or refusing messages on their way in
//!   and out.
//! * [`ts_mapping`]: the TypeScript of payload types, for the typings.
//!
//! This layer knows frames and parsers, nothing of connections.

pub mod envelope;
pub mod event;
pub mod positional;
pub mod transform;
pub mod ts_mapping;

use crate::parser::{Parser, ParserError};
use crate::wire::Frame;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// One incoming Primus message that is not a control message.
///
/// It carries the frame as it arrived (Primus' `raw`) and the parser that
/// decodes it. With the JSON parser the frame was already checked to be valid
/// JSON before any handler saw it (an invalid frame is dropped with an
/// `error`); a binary frame is passed through, as Primus does.
///
/// ```
/// use primus::{Frame, Message};
/// use primus::parser::Json;
/// use std::sync::Arc;
///
/// let message = Message::new(Frame::text(r#"{"a":[1,2]}"#), Arc::new(Json));
/// let value: serde_json::Value = message.decode().unwrap();
/// assert_eq!(value["a"][1], 2);
/// assert_eq!(message.raw().as_str(), Some(r#"{"a":[1,2]}"#));
/// ```
#[derive(Clone, Debug)]
pub struct Message {
    frame: Frame,
    parser: Arc<dyn Parser>,
}

impl Message {
    /// Wraps a frame with the parser that decodes it.
    pub fn new(frame: Frame, parser: Arc<dyn Parser>) -> Message {
        Message { frame, parser }
    }

    /// Decodes the message into `T` (`serde_json::Value` for "anything").
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ParserError> {
        self.parser.decode_value(&self.frame)
    }

    /// The frame as it arrived on the wire.
    pub fn raw(&self) -> &Frame {
        &self.frame
    }

    /// The raw payload bytes (for a binary frame, the data itself).
    pub fn as_bytes(&self) -> &[u8] {
        self.frame.as_bytes()
    }

    /// True when the message arrived as a binary frame.
    pub fn is_binary(&self) -> bool {
        self.frame.is_binary()
    }

    /// The parser this message is decoded with.
    pub fn parser(&self) -> &Arc<dyn Parser> {
        &self.parser
    }

    /// Takes the frame out.
    pub fn into_frame(self) -> Frame {
        self.frame
    }
}
