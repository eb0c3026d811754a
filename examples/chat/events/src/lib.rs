//! The chat's events, shared by the server and the Rust client.
//!
//! On the wire (JSON, one object per Primus message):
//!
//! | direction | example |
//! |---|---|
//! | client → server | `{"event":"join","data":{"name":"ada"},"request":1}` |
//! | client → server | `{"event":"say","data":"hello"}` |
//! | client → server | `{"event":"who","request":2}` |
//! | server → client | `{"reply":1,"data":["ada","bob"]}` |
//! | server → client | `{"event":"message","data":{"from":"ada","text":"hello"}}` |

/// What a chat client sends.
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum ChatClient {
    /// Take a name; the reply lists everyone in the room.
    #[primus(reply = Vec<String>)]
    Join {
        /// The name to show.
        name: String,
    },
    /// Say something to the room.
    Say(String),
    /// Who is here?
    #[primus(reply = Vec<String>)]
    Who,
}

/// What the chat server sends.
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum ChatServer {
    /// Someone joined.
    Joined {
        /// Their name.
        name: String,
    },
    /// Someone left.
    Left {
        /// Their name.
        name: String,
    },
    /// Someone said something.
    Message {
        /// Who said it.
        from: String,
        /// What they said.
        text: String,
    },
    /// A notice from the server.
    System(String),
}
