//! The stand-ins against the providers' official clients (Python `iyzipay` and `stripe`,
//! installed into `.venv` by `scripts/pyenv.sh`): if the stand-ins drifted from the real wire
//! format or signatures, these clients would refuse them.

use std::path::PathBuf;

fn python() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let python = root.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run `bash scripts/pyenv.sh`, which installs \
         scripts/python-requirements.txt (iyzipay, stripe) into .venv",
        python.display()
    );
    python
}

async fn run(check: &str, env: &[(&str, String)]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/official_clients.py");
    let mut command = tokio::process::Command::new(python());
    command.arg(script).arg(check);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().await.expect("python runs");
    assert!(
        output.status.success(),
        "{check}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn iyzipay_signs_and_verifies_against_the_iyzico_stand_in() {
    let iyzico = pay_sim::iyzico::spawn(pay_sim::iyzico::IyzicoConfig::default())
        .await
        .unwrap();
    let host = iyzico.base_url.trim_start_matches("http://").to_owned();
    run(
        "iyzico",
        &[
            ("IYZICO_HOST", host),
            ("IYZICO_API_KEY", iyzico.sim.config.api_key.clone()),
            ("IYZICO_SECRET_KEY", iyzico.sim.config.secret_key.clone()),
        ],
    )
    .await;
    // The failed authorization was the deliberately forged one only.
    assert_eq!(iyzico.sim.refused_auth(), 1);
}

#[tokio::test]
async fn stripe_python_talks_to_and_verifies_the_stripe_stand_in() {
    let stripe = pay_sim::stripe::spawn(pay_sim::stripe::StripeConfig::default())
        .await
        .unwrap();
    let config = stripe.sim.config();
    run(
        "stripe",
        &[
            ("STRIPE_BASE", stripe.base_url.clone()),
            ("STRIPE_SECRET_KEY", config.secret_key),
            ("STRIPE_WEBHOOK_SECRET", config.webhook_secret),
        ],
    )
    .await;
}
