// The chat example's events (examples/chat/events), written by hand in the
// shape the client typings expect, until the Rust typings generator exists.
//
//   ChatClient::Join { name }  (reply Vec<String>)  {"event":"join","data":{"name":"ada"},"request":1}
//   ChatClient::Say(String)                          {"event":"say","data":"hello"}
//   ChatClient::Who            (reply Vec<String>)  {"event":"who","request":2}
//   ChatServer::Joined { name } / Left { name } / Message { from, text } / System(String)

/** What a chat client sends (`primus.send`). */
export interface ChatClientEvents {
  join: { name: string };
  say: string;
  who: undefined;
}

/** What the chat server sends (`primus.on`). */
export interface ChatServerEvents {
  joined: { name: string };
  left: { name: string };
  message: { from: string; text: string };
  system: string;
}

/** The chat's requests and their replies (`primus.request`). */
export interface ChatRequests {
  join: { data: { name: string }; reply: string[] };
  who: { data: undefined; reply: string[] };
}
