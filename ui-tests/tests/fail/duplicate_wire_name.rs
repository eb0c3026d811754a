#[primus::event]
pub enum ToServer {
    Foo,
    #[primus(rename = "foo")]
    Bar,
}

fn main() {}
