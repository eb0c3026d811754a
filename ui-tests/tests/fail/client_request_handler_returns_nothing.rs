extern crate realtime as primus;

use primus::Payload;

#[primus::event]
pub enum ToClient {
    #[primus(reply = bool)]
    Confirm(String),
}

// The server asks (`spark.request(ToClient::confirm(..))`) and waits for a
// `bool`: a client handler of that request must return one.
#[primus_client::on(ToClient::Confirm)]
async fn confirm(Payload(question): Payload<String>) {
    let _ = question;
}

fn main() {}
