//! Each customer's share of the deliverer's slots: at most `PER_CUSTOMER` of a customer's
//! deliveries are in flight at once, and a claim goes round the customers with deliveries
//! due, one each in turn, rather than taking the oldest due first. A receiver that never
//! answers so holds at most its customer's share, however many deliveries it has queued.

use reelgate_domain::accounts::UserId;
use reelgate_store::WebhookBacklog;
use std::collections::HashMap;
use std::sync::Mutex;

/// Deliveries of one customer in flight at once, in this process.
pub const PER_CUSTOMER: u32 = 4;

/// How many deliveries each customer has in flight here.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<UserId, u32>>);

impl InFlight {
    pub fn of(&self, user: &UserId) -> u32 {
        self.0
            .lock()
            .map_or(0, |m| m.get(user).copied().unwrap_or(0))
    }

    /// Customers with something in flight.
    pub fn customers(&self) -> u32 {
        self.0
            .lock()
            .map_or(0, |m| u32::try_from(m.len()).unwrap_or(u32::MAX))
    }

    pub fn started(&self, user: &UserId, n: usize) {
        if let Ok(mut m) = self.0.lock() {
            let count = m.entry(user.clone()).or_default();
            *count = count.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        }
    }

    pub fn finished(&self, user: &UserId) {
        if let Ok(mut m) = self.0.lock() {
            if let Some(count) = m.get_mut(user) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    m.remove(user);
                }
            }
        }
    }
}

/// Splits `limit` slots among the customers with deliveries due, round robin in the order
/// given (longest waiting first), each getting at most its due count and its free share.
pub fn split(backlogs: &[WebhookBacklog], in_flight: &InFlight, limit: u32) -> Vec<(UserId, u32)> {
    let mut room: Vec<(UserId, u32)> = backlogs
        .iter()
        .map(|b| {
            let free = PER_CUSTOMER.saturating_sub(in_flight.of(&b.user_id));
            (
                b.user_id.clone(),
                free.min(u32::try_from(b.due).unwrap_or(u32::MAX)),
            )
        })
        .filter(|(_, room)| *room > 0)
        .collect();
    let mut shares: Vec<(UserId, u32)> = room.iter().map(|(u, _)| (u.clone(), 0)).collect();
    let mut left = limit;
    while left > 0 && room.iter().any(|(_, r)| *r > 0) {
        for ((_, r), (_, share)) in room.iter_mut().zip(shares.iter_mut()) {
            if left == 0 {
                break;
            }
            if *r > 0 {
                *r -= 1;
                *share += 1;
                left -= 1;
            }
        }
    }
    shares.retain(|(_, n)| *n > 0);
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8) -> UserId {
        UserId::parse(&format!("usr_01jd6m5x7k3c9v2b8n4q0w1e{n:02}")).unwrap()
    }

    fn backlog(n: u8, due: u64) -> WebhookBacklog {
        WebhookBacklog {
            user_id: user(n),
            pending: due,
            due,
        }
    }

    #[test]
    fn slots_go_round_the_customers_each_within_its_share() {
        let in_flight = InFlight::default();
        let backlogs = [backlog(1, 445), backlog(2, 1), backlog(3, 2)];
        assert_eq!(
            split(&backlogs, &in_flight, 16),
            [(user(1), PER_CUSTOMER), (user(2), 1), (user(3), 2)]
        );
        assert_eq!(
            split(&backlogs, &in_flight, 3),
            [(user(1), 1), (user(2), 1), (user(3), 1)]
        );
    }

    #[test]
    fn a_customer_with_its_share_in_flight_gets_nothing_more() {
        let in_flight = InFlight::default();
        in_flight.started(&user(1), PER_CUSTOMER as usize);
        let backlogs = [backlog(1, 445), backlog(2, 1)];
        assert_eq!(split(&backlogs, &in_flight, 16), [(user(2), 1)]);
        in_flight.finished(&user(1));
        assert_eq!(
            split(&backlogs, &in_flight, 16),
            [(user(1), 1), (user(2), 1)]
        );
    }
}
