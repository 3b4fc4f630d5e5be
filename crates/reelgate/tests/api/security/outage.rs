//! A database that goes away under a running app — its SQLite directory gone (an unmounted
//! volume), its PostgreSQL database renamed away (as a restore does) — is a 503 with
//! `Retry-After` on both front ends, never a 500, and the app comes back by itself with it.

use super::overload::unavailable_on_both;
use crate::helpers::{wait_until, SuiteDatabase, TestApp};
use reelgate::config::Settings;
use reelgate::http::auth::SESSION_COOKIE;
use sqlx::{Connection, Executor};
use std::path::PathBuf;
use std::time::Duration;

/// Where the app's database lives, and how the test takes it away and brings it back.
enum Place {
    /// The directory holding the SQLite file, and the name it is moved to meanwhile.
    Sqlite { dir: PathBuf, away: PathBuf },
    /// A PostgreSQL database of the test's own (not a schema: a schema that goes away is a
    /// missing table, a bug; a database that goes away is an outage).
    Postgres { server: String, name: String },
}

impl Place {
    async fn new(temp: &std::path::Path) -> Place {
        if !SuiteDatabase::on_postgres() {
            return Place::Sqlite {
                dir: temp.join("volume"),
                away: temp.join("volume-unmounted"),
            };
        }
        sqlx::any::install_default_drivers();
        let server = reelgate_store::testing::test_postgres_url();
        let name = format!("gone_{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut admin = sqlx::AnyConnection::connect(&server).await.unwrap();
        admin
            .execute(&*format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        admin.close().await.unwrap();
        Place::Postgres { server, name }
    }

    fn url(&self) -> String {
        match self {
            Place::Sqlite { dir, .. } => format!("sqlite://{}/reelgate.db", dir.display()),
            Place::Postgres { server, name } => {
                let mut url = url::Url::parse(server).unwrap();
                url.set_path(name);
                url.to_string()
            }
        }
    }

    async fn admin(server: &str) -> sqlx::AnyConnection {
        sqlx::AnyConnection::connect(server).await.unwrap()
    }

    async fn take_away(&self, app: &TestApp) {
        match self {
            Place::Sqlite { dir, away } => {
                std::fs::rename(dir, away).unwrap();
                // Open connections keep the moved file: close every one the pool holds, so
                // the app's next query must open the file where it was.
                let mut held = Vec::new();
                while let Ok(Ok(conn)) =
                    tokio::time::timeout(Duration::from_secs(1), app.store.pool().acquire()).await
                {
                    held.push(conn);
                }
                for conn in held {
                    conn.close().await.unwrap();
                }
            }
            Place::Postgres { server, name } => {
                let mut admin = Self::admin(server).await;
                admin
                    .execute(&*format!(
                        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
                    ))
                    .await
                    .unwrap();
                let terminate = format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}'"
                );
                let rename = format!("ALTER DATABASE \"{name}\" RENAME TO \"{name}_away\"");
                // The renaming waits for the terminated sessions to have ended.
                wait_until("the app's sessions ended", async || {
                    admin.execute(&*terminate).await.unwrap();
                    admin.execute(&*rename).await.is_ok()
                })
                .await;
                admin
                    .execute(&*format!(
                        "ALTER DATABASE \"{name}_away\" ALLOW_CONNECTIONS true"
                    ))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
            }
        }
    }

    async fn bring_back(&self) {
        match self {
            Place::Sqlite { dir, away } => std::fs::rename(away, dir).unwrap(),
            Place::Postgres { server, name } => {
                let mut admin = Self::admin(server).await;
                admin
                    .execute(&*format!(
                        "ALTER DATABASE \"{name}_away\" RENAME TO \"{name}\""
                    ))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
            }
        }
    }
}

/// The test's PostgreSQL database goes with it, also when the test fails half-way (taken
/// away or not). Drop cannot await and may run on the test's runtime: a thread of its own.
impl Drop for Place {
    fn drop(&mut self) {
        let Place::Postgres { server, name } = self else {
            return;
        };
        let databases = [name.clone(), format!("{name}_away")];
        let server = server.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = Place::admin(&server).await;
                for db in databases {
                    let sql = format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)");
                    admin.execute(&*sql).await.unwrap();
                }
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop the test database {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_went_away_is_503_on_the_api_and_the_web_until_it_is_back() {
    let temp = tempfile::tempdir().unwrap();
    let place = Place::new(temp.path()).await;
    let app =
        TestApp::spawn_with(Settings::default().with("REELGATE_DATABASE_URL", place.url())).await;
    let (user, key) = app.customer("ada", 10).await;
    let session = app
        .store
        .create_session(&user.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let cookie = format!("{SESSION_COOKIE}={}", session.expose());
    let page = || {
        app.client
            .get(app.url("/account"))
            .header("cookie", &cookie)
            .header("accept", "text/html")
            .send()
    };
    assert_eq!(app.get_as(&key, "/v1/account").await.status(), 200);
    assert_eq!(page().await.unwrap().status(), 200);

    place.take_away(&app).await;
    let api = app.get_as(&key, "/v1/account").await;
    let web = page().await.unwrap();
    unavailable_on_both(api, web).await;

    place.bring_back().await;
    wait_until("the app is back with its database", async || {
        app.get_as(&key, "/v1/account").await.status() == 200
    })
    .await;
    assert_eq!(page().await.unwrap().status(), 200);
}
