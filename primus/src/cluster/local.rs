//! [`LocalBroadcast`]: the sparks and rooms of this process.

use super::{Broadcast, Target};
use crate::lock;
use crate::spark::{CloseRequest, Outbound, Spark};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

/// The default [`Broadcast`]: a map of the connected sparks and the room
/// membership of this process. Delivery queues the one encoded message for
/// every target; nothing leaves the process.
///
/// ```
/// use primus::cluster::{Broadcast, LocalBroadcast};
///
/// let local = LocalBroadcast::default();
/// local.join("spark-a", "lobby");
/// local.join("spark-b", "lobby");
/// local.join("spark-a", "games");
/// assert_eq!(local.rooms_of("spark-a"), ["games", "lobby"]);
/// assert_eq!(local.members("lobby").len(), 2);
/// local.forget("spark-a");
/// assert_eq!(local.room_names(), ["lobby"]);
/// ```
#[derive(Default)]
pub struct LocalBroadcast {
    sparks: RwLock<HashMap<Arc<str>, Spark>>,
    rooms: RwLock<Membership>,
}

#[derive(Default)]
struct Membership {
    /// room → spark ids
    rooms: BTreeMap<String, BTreeSet<Arc<str>>>,
    /// spark id → rooms
    sparks: BTreeMap<Arc<str>, BTreeSet<String>>,
}

impl Membership {
    fn remove(&mut self, spark: &str, room: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(spark);
            if members.is_empty() {
                self.rooms.remove(room);
            }
        }
        if let Some(rooms) = self.sparks.get_mut(spark) {
            rooms.remove(room);
            if rooms.is_empty() {
                self.sparks.remove(spark);
            }
        }
    }
}

impl LocalBroadcast {
    /// The connected sparks `target` names, without the excluded ones.
    /// Collected first: no lock is held while messages are queued (a full
    /// queue reports to `error` handlers, which may call back in here).
    fn targets(&self, target: &Target) -> Vec<Spark> {
        let sparks = lock::read(&self.sparks);
        let membership = lock::read(&self.rooms);
        let left_out = |id: &str| {
            target.excludes(id)
                || target.excluded_rooms().iter().any(|room| {
                    membership
                        .rooms
                        .get(room)
                        .is_some_and(|members| members.contains(id))
                })
        };
        if let Some(id) = target.spark_id() {
            return sparks
                .get(id)
                .filter(|_| !left_out(id))
                .cloned()
                .into_iter()
                .collect();
        }
        if target.rooms().is_empty() {
            return sparks
                .values()
                .filter(|spark| !left_out(spark.id()))
                .cloned()
                .collect();
        }
        let mut ids: BTreeSet<&Arc<str>> = BTreeSet::new();
        for room in target.rooms() {
            if let Some(members) = membership.rooms.get(room) {
                ids.extend(members.iter());
            }
        }
        ids.into_iter()
            .filter(|id| !left_out(id))
            .filter_map(|id| sparks.get(id).cloned())
            .collect()
    }
}

impl Broadcast for LocalBroadcast {
    fn add(&self, spark: &Spark) -> bool {
        let mut sparks = lock::write(&self.sparks);
        if sparks.contains_key(spark.id()) {
            return false;
        }
        sparks.insert(spark.id_arc(), spark.clone());
        true
    }

    fn remove(&self, spark: &Spark) {
        let mut sparks = lock::write(&self.sparks);
        if sparks.get(spark.id()).is_some_and(|known| known == spark) {
            sparks.remove(spark.id());
        }
    }

    fn forget(&self, spark_id: &str) {
        let mut membership = lock::write(&self.rooms);
        let rooms = membership.sparks.remove(spark_id).unwrap_or_default();
        for room in rooms {
            membership.remove(spark_id, &room);
        }
    }

    fn spark(&self, id: &str) -> Option<Spark> {
        lock::read(&self.sparks).get(id).cloned()
    }

    fn sparks(&self) -> Vec<Spark> {
        lock::read(&self.sparks).values().cloned().collect()
    }

    fn len(&self) -> usize {
        lock::read(&self.sparks).len()
    }

    fn deliver(&self, message: &Outbound, target: &Target) -> usize {
        self.targets(target)
            .iter()
            .filter(|spark| target.offer(spark, message.clone()))
            .count()
    }

    fn end(&self, target: &Target, request: CloseRequest) -> usize {
        self.targets(target)
            .iter()
            .filter(|spark| spark.close(request))
            .count()
    }

    fn join(&self, spark_id: &str, room: &str) {
        let mut membership = lock::write(&self.rooms);
        let id: Arc<str> = Arc::from(spark_id);
        membership
            .rooms
            .entry(room.to_owned())
            .or_default()
            .insert(id.clone());
        membership.sparks.entry(id).or_default().insert(room.to_owned());
    }

    fn leave(&self, spark_id: &str, room: &str) {
        lock::write(&self.rooms).remove(spark_id, room);
    }

    fn rooms_of(&self, spark_id: &str) -> Vec<String> {
        lock::read(&self.rooms)
            .sparks
            .get(spark_id)
            .map(|rooms| rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn members(&self, room: &str) -> Vec<Arc<str>> {
        lock::read(&self.rooms)
            .rooms
            .get(room)
            .map(|members| members.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn room_names(&self) -> Vec<String> {
        lock::read(&self.rooms).rooms.keys().cloned().collect()
    }
}
