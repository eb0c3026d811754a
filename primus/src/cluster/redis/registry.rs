//! The names under a cluster's prefix, and the spark registry's scripts.
//!
//! | name | type | holds |
//! |---|---|---|
//! | `{prefix}:bcast` | channel | deliveries, ends and questions for every node |
//! | `{prefix}:reply:{node}` | channel | answers to the questions `node` asked |
//! | `{prefix}:sparks` | hash | spark id → node id |
//! | `{prefix}:nodes` | set | the nodes that registered |
//! | `{prefix}:node:{node}:sparks` | set | the spark ids of `node` (for its cleanup) |
//! | `{prefix}:node:{node}:alive` | string with a TTL | present while `node` is alive |

use super::envelope::NodeId;

/// The channel and key names of one cluster (one prefix).
#[derive(Debug, Clone)]
pub(crate) struct Names {
    prefix: String,
    pub(crate) broadcast: String,
    pub(crate) sparks: String,
    pub(crate) nodes: String,
}

impl Names {
    pub(crate) fn new(prefix: &str) -> Names {
        Names {
            prefix: prefix.to_owned(),
            broadcast: format!("{prefix}:bcast"),
            sparks: format!("{prefix}:sparks"),
            nodes: format!("{prefix}:nodes"),
        }
    }

    pub(crate) fn reply(&self, node: &NodeId) -> String {
        format!("{}:reply:{node}", self.prefix)
    }

    pub(crate) fn sparks_of(&self, node: &str) -> String {
        format!("{}:node:{node}:sparks", self.prefix)
    }

    pub(crate) fn alive(&self, node: &str) -> String {
        format!("{}:node:{node}:alive", self.prefix)
    }
}

/// Removes a dead node from the registry, unless its alive key is back:
/// its sparks (those still pointing at it), its set, its membership.
/// KEYS: alive, sparks of the node, sparks hash, nodes set; ARGV: node id.
/// Returns the number of sparks removed, or -1 when the node is alive.
/// Idempotent: every node may run it for every dead node.
pub(crate) const REAP: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local ids = redis.call('SMEMBERS', KEYS[2])
local removed = 0
for _, id in ipairs(ids) do
  if redis.call('HGET', KEYS[3], id) == ARGV[1] then
    redis.call('HDEL', KEYS[3], id)
    removed = removed + 1
  end
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[4], ARGV[1])
return removed
"#;

/// Removes one spark of a node, if the registry still says it is there.
/// KEYS: sparks hash, sparks of the node; ARGV: spark id, node id.
pub(crate) const UNREGISTER: &str = r#"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"#;
