extern crate realtime as primus;

// Every mistake of the enum is reported in one build.
#[primus::event]
#[derive(Debug, serde::Serialize)]
#[serde(tag = "t")]
pub enum ToServer {
    #[primus(rnme = "speak")]
    Say(String),
    #[primus(reply = u32, rename = "")]
    Count = 3,
}

fn main() {}
