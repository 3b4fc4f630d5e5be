//! Tests of the real `reelgate` binary run as separate processes: several instances on one
//! PostgreSQL database, and the operations around them (metrics, readiness, backups, stops).

mod balancer;
mod db_proxy;
mod fair_three;
mod multi_instance;
mod operations;
mod processes;
