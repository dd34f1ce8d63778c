//! `vae serve` as a real service: its API, its errors, clean shutdown, and a bounded load test.

use super::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Requests time out rather than hang a test run.
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

pub(crate) fn post(url: &str, body: &str) -> (u16, Vec<u8>, Option<String>) {
    let response = agent()
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(body);
    let (code, response) = match response {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("POST {url}: {e}"),
    };
    let timing = response.header("server-timing").map(str::to_string);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).expect("a body");
    (code, bytes, timing)
}

pub(crate) fn get(url: &str) -> (u16, Vec<u8>) {
    let (code, response) = match agent().get(url).call() {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("GET {url}: {e}"),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).expect("a body");
    (code, bytes)
}

/// Announces a 400 KB body and sends none: the server must refuse from the header alone. (Sending
/// the body races the server closing the connection, which the client sees as a broken pipe.)
fn announced_oversize(base: &str, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 400000\r\nConnection: close\r\n\r\n").expect("write");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.as_bytes().to_vec())
        .unwrap_or_default();
    (status, body)
}

/// Asserts a 4xx answer whose JSON `error` contains `needle`.
fn refused(code: u16, body: &[u8], status: u16, needle: &str) {
    let text = String::from_utf8_lossy(body);
    assert_eq!(code, status, "{text}");
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let message = value["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "expected `{needle}` in `{message}`"
    );
}

#[test]
fn built_in_model_api_and_errors() {
    let server = Server::start(&[]);
    let u = |path: &str| format!("{}{}", server.url, path);

    let (code, body) = get(&u("/api/model"));
    assert_eq!(code, 200);
    let info: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(info["latent_dim"], 2);
    assert_eq!(info["conditional"], true);
    assert_eq!(info["dataset"], "mnist");
    assert!(info["metrics"]["test_elbo"].as_f64().is_some());

    let (code, page) = get(&u("/"));
    assert_eq!(code, 200);
    let page = String::from_utf8(page).expect("utf-8");
    assert!(page.contains("Digit Fantasies"));
    assert!(
        !page.contains("src=\"http"),
        "the page must not load anything from the network"
    );

    let (code, png, timing) = post(&u("/api/decode"), r#"{"z": [0.3, -1.2], "label": 7}"#);
    assert_eq!(code, 200);
    let image = image::load_from_memory(&png).expect("a PNG");
    assert_eq!((image.width(), image.height()), (28, 28));
    assert!(timing.is_some_and(|t| t.starts_with("queue;dur=") && t.contains(", decode;dur=")));
    // Another label, the same z: another image.
    let (_, other, _) = post(&u("/api/decode"), r#"{"z": [0.3, -1.2], "label": 1}"#);
    assert_ne!(png, other);

    let mut stroke = vec![0.0f32; 784];
    for r in 6..22 {
        stroke[r * 28 + 14] = 1.0;
    }
    let (code, body, _) = post(
        &u("/api/encode"),
        &json!({"pixels": stroke, "label": 1}).to_string(),
    );
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let encoded: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(encoded["mean"].as_array().map(Vec::len), Some(2));
    assert_eq!(encoded["log_var"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        encoded["reconstruction"].as_array().map(Vec::len),
        Some(784)
    );
    assert!(encoded["reconstruction_png"]
        .as_str()
        .is_some_and(|s| s.starts_with("data:image/png;base64,")));
    assert_eq!(encoded["label"], 1);
    // Without a label, the conditional model reads the vertical stroke as a one.
    let (code, body, _) = post(&u("/api/encode"), &json!({ "pixels": stroke }).to_string());
    assert_eq!(code, 200);
    let guessed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(guessed["label"], 1, "{}", guessed["label_log_likelihoods"]);
    assert_eq!(
        guessed["label_log_likelihoods"].as_array().map(Vec::len),
        Some(10)
    );

    let (code, png) = get(&u("/api/manifold?label=3&grid=5"));
    assert_eq!(code, 200);
    let image = image::load_from_memory(&png).expect("a PNG");
    assert_eq!((image.width(), image.height()), (5 * 28, 5 * 28));

    let decode = u("/api/decode");
    let (c, b, _) = post(&decode, r#"{"z": [0.3], "label": 1}"#);
    refused(c, &b, 422, "has 1 values");
    let (c, b, _) = post(&decode, r#"{"z": [0.3, 0.1]}"#);
    refused(c, &b, 422, "give a \"label\"");
    let (c, b, _) = post(&decode, r#"{"z": [0.3, 0.1], "label": 10}"#);
    refused(c, &b, 422, "label 10 is out of range");
    let (c, b, _) = post(&decode, r#"{"z": [0.3, 1e9], "label": 1}"#);
    refused(c, &b, 422, "outside [-10, 10]");
    let (c, b, _) = post(&decode, r#"{"z": [0.3, 0.1], "label": 1, "extra": 1}"#);
    refused(c, &b, 422, "unknown field");
    let (c, b, _) = post(&decode, "{not json");
    refused(c, &b, 400, "JSON");
    let (c, b) = announced_oversize(&server.url, "/api/decode");
    refused(c, &b, 413, "length limit");
    let (c, b, _) = post(
        &u("/api/encode"),
        &json!({"pixels": vec![0.5; 783], "label": 1}).to_string(),
    );
    refused(c, &b, 422, "has 783 values");
    let (c, b, _) = post(
        &u("/api/encode"),
        &json!({"pixels": vec![1.5; 784], "label": 1}).to_string(),
    );
    refused(c, &b, 422, "outside [0, 1]");
    let (c, b) = get(&u("/api/manifold?label=1&grid=1000"));
    refused(c, &b, 422, "grid 1000");
    let (c, b) = get(&u("/no/such/page"));
    refused(c, &b, 404, "no such page");

    assert!(server.interrupt(), "Ctrl-C did not stop the server cleanly");
}

#[test]
fn a_trained_unconditional_model_is_served_too() {
    let f = fixture();
    let run = f.root.join("run");
    ok(&train_args(&f, path(&run), "1"));
    let server = Server::start(&["--model", path(&run)]);
    let (code, body) = get(&format!("{}/api/model", server.url));
    assert_eq!(code, 200);
    let info: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(info["conditional"], false);
    assert_eq!(info["image"]["height"], 7);
    let (code, png, _) = post(
        &format!("{}/api/decode", server.url),
        r#"{"z": [0.1, 0.2]}"#,
    );
    assert_eq!(code, 200);
    let image = image::load_from_memory(&png).expect("a PNG");
    assert_eq!((image.width(), image.height()), (5, 7));
    let (c, b, _) = post(
        &format!("{}/api/decode", server.url),
        r#"{"z": [0.1, 0.2], "label": 1}"#,
    );
    refused(c, &b, 422, "not conditional");
    fails(
        &["serve", "--model", path(&f.root)],
        "config.json is missing",
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Milliseconds of the `name` metric in a Server-Timing header.
fn timing_of(header: &str, name: &str) -> Option<f64> {
    header
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix(name)?.strip_prefix(";dur=")?.parse().ok())
}

/// 50 clients decoding as fast as they can for three seconds, on the same two cores as the
/// server: no request may fail. Prints the latency percentiles (the server's decode time, its
/// queue, the client's round trip); the README quotes a run of this test.
#[test]
fn fifty_concurrent_clients() {
    let server = Server::start(&[]);
    let url = format!("{}/api/decode", server.url);
    let deadline = Instant::now() + Duration::from_secs(3);
    let clients: Vec<_> = (0..50)
        .map(|c| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                let mut round_trips = Vec::new();
                let mut server_side = Vec::new();
                let mut queued = Vec::new();
                let mut errors = 0;
                let mut i = 0u32;
                while Instant::now() < deadline {
                    let z = [
                        ((c * 7 + i as usize) % 40) as f32 / 10.0 - 2.0,
                        (i % 30) as f32 / 10.0 - 1.5,
                    ];
                    let body = json!({"z": z, "label": i % 10}).to_string();
                    let started = Instant::now();
                    match agent
                        .post(&url)
                        .set("Content-Type", "application/json")
                        .send_string(&body)
                    {
                        Ok(r) if r.status() == 200 => {
                            let header = r.header("server-timing").unwrap_or_default().to_string();
                            let mut png = Vec::new();
                            let read =
                                std::io::Read::read_to_end(&mut r.into_reader(), &mut png).is_ok();
                            round_trips.push(started.elapsed().as_secs_f64() * 1e3);
                            match (timing_of(&header, "decode"), timing_of(&header, "queue")) {
                                (Some(decode), Some(queue)) if read && !png.is_empty() => {
                                    server_side.push(decode);
                                    queued.push(queue);
                                }
                                _ => errors += 1,
                            }
                        }
                        _ => errors += 1,
                    }
                    i += 1;
                }
                (round_trips, server_side, queued, errors)
            })
        })
        .collect();
    let mut round_trips = Vec::new();
    let mut server_side = Vec::new();
    let mut queued = Vec::new();
    let mut errors = 0;
    for client in clients {
        let (r, s, q, e) = client.join().expect("client thread");
        round_trips.extend(r);
        server_side.extend(s);
        queued.extend(q);
        errors += e;
    }
    assert_eq!(errors, 0, "{errors} failed requests");
    assert!(
        round_trips.len() >= 50,
        "only {} requests completed",
        round_trips.len()
    );
    round_trips.sort_by(f64::total_cmp);
    server_side.sort_by(f64::total_cmp);
    queued.sort_by(f64::total_cmp);
    eprintln!(
        "load test: {} decodes by 50 clients in 3 s ({:.0}/s); server-side decode p50 {:.3} ms, p99 {:.3} ms; queue for a compute thread p50 {:.2} ms, p99 {:.2} ms; round trip p50 {:.2} ms, p99 {:.2} ms",
        round_trips.len(),
        round_trips.len() as f64 / 3.0,
        percentile(&server_side, 0.5),
        percentile(&server_side, 0.99),
        percentile(&queued, 0.5),
        percentile(&queued, 0.99),
        percentile(&round_trips, 0.5),
        percentile(&round_trips, 0.99),
    );
    assert!(server.interrupt(), "Ctrl-C did not stop the server cleanly");
}

/// Large decodes (manifolds) run parallel loops; while they wait, the same compute thread may pick
/// up another request. Mixed concurrent requests must all succeed.
#[test]
fn manifolds_and_decodes_at_once() {
    let server = Server::start(&[]);
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let base = server.url.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for i in 0..15 {
                    let code = if t % 2 == 0 {
                        get(&format!("{base}/api/manifold?label={}&grid=40", i % 10)).0
                    } else {
                        post(
                            &format!("{base}/api/decode"),
                            &json!({"z": [0.1 * i as f32, -0.5], "label": t}).to_string(),
                        )
                        .0
                    };
                    if code != 200 {
                        failures.push(code);
                    }
                }
                failures
            })
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().expect("client thread"), Vec::<u16>::new());
    }
    assert!(
        server.interrupt(),
        "the server did not survive concurrent manifolds and decodes"
    );
}

/// Sends raw bytes on a fresh connection and returns what comes back before the server closes it
/// (or 15 s pass), with the seconds that took.
fn raw_exchange(base: &str, request: &[u8]) -> (String, f64) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let started = Instant::now();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    (
        String::from_utf8_lossy(&response).into_owned(),
        started.elapsed().as_secs_f64(),
    )
}

/// A half-sent head, an idle keep-alive connection and a trickled body are
/// each cut off after the timeout; connections over the limit are closed at once, and the limit
/// frees again as the slow ones are cut; Ctrl-C ends the server within seconds while a client
/// holds a request half-sent.
#[test]
fn slow_clients_are_cut_off_and_ctrl_c_is_prompt() {
    let server = Server::start(&["--timeout", "1", "--max-connections", "4"]);
    let (answer, seconds) = raw_exchange(&server.url, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    assert!(answer.is_empty(), "a half-sent head was answered: {answer}");
    assert!(
        (0.8..5.0).contains(&seconds),
        "half-sent head held {seconds} s"
    );

    let (answer, seconds) = raw_exchange(
        &server.url,
        b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        (0.8..5.0).contains(&seconds),
        "idle keep-alive held {seconds} s"
    );

    let (answer, seconds) = raw_exchange(
        &server.url,
        b"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"z\": ",
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");
    assert!(seconds < 5.0, "trickled body held {seconds} s");

    // Four slow clients fill the server; a fifth is closed without an answer. The server takes the
    // four in when its threads run, which on a loaded machine can be later than any fixed pause,
    // and it may still hold the slots of the connections above for a moment after their clients
    // saw them close: a held client the server closed at once (it found no slot) is connected
    // again, until all four are held. The fifth is then tried every 100 ms, for up to 2 s, until
    // it finds them all taken (a served try closes at once); it must be refused before the first
    // of them is cut off, a second after the server took it.
    let address = server.url.trim_start_matches("http://").to_string();
    // Whether the server still holds `stream` open (nothing to read yet) rather than closed it.
    let open = |stream: &std::net::TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        matches!(
            stream.peek(&mut [0u8; 1]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        )
    };
    let mut held = Vec::new();
    for _ in 0..20 {
        held = (0..4)
            .map(|_| std::net::TcpStream::connect(&address).expect("connect"))
            .collect();
        std::thread::sleep(Duration::from_millis(150));
        if held.iter().all(open) {
            break;
        }
        // The server closed one at once: a slot was not free yet. Let every slot go and retry.
        held.clear();
        std::thread::sleep(Duration::from_millis(1200));
    }
    assert_eq!(held.len(), 4, "the server never held four connections");
    let mut served = 0;
    let (answer, seconds) = loop {
        std::thread::sleep(Duration::from_millis(100));
        let (answer, seconds) = raw_exchange(
            &server.url,
            b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        );
        if answer.is_empty() || served == 20 {
            break (answer, seconds);
        }
        served += 1;
    };
    assert!(
        answer.is_empty(),
        "a fifth connection was served {} times: {answer}",
        served + 1
    );
    assert!(seconds < 0.9, "the fifth connection waited {seconds} s");
    // Once the slow ones are cut off, the server answers again.
    std::thread::sleep(Duration::from_millis(1500));
    let (code, _) = get(&format!("{}/api/model", server.url));
    assert_eq!(code, 200);
    drop(held);

    let mut half = std::net::TcpStream::connect(&address).expect("connect");
    std::io::Write::write_all(
        &mut half,
        b"POST /api/decode HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    )
    .expect("write");
    let started = Instant::now();
    assert!(server.interrupt(), "Ctrl-C did not stop the server cleanly");
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        seconds < 5.0,
        "Ctrl-C took {seconds} s with a client connected"
    );
}

/// Requests naming an unknown host (DNS rebinding) are refused; IP literals,
/// localhost and names given with --allow-host are answered.
#[test]
fn unknown_host_names_are_refused() {
    let server = Server::start(&["--allow-host", "explorer.lab.example", "--threads", "1"]);
    let ask = |host: &str| {
        raw_exchange(
            &server.url,
            format!("GET /api/model HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .0
    };
    for host in [
        "127.0.0.1:1",
        "localhost:8080",
        "[::1]:8080",
        "EXPLORER.lab.example",
    ] {
        assert!(ask(host).starts_with("HTTP/1.1 200"), "{host} refused");
    }
    let answer = ask("attacker.example:8080");
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("--allow-host attacker.example"), "{answer}");
    // Two Host headers are a bad request (RFC 9112, Sec. 3.2), whichever comes first.
    for request in [
        "GET /api/model HTTP/1.1\r\nHost: localhost\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
        "GET /api/model HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ] {
        let answer = raw_exchange(&server.url, request.as_bytes()).0;
        assert!(answer.starts_with("HTTP/1.1 400"), "{request}: {answer}");
    }
    // A request in absolute form is for the host its target names, whatever Host says.
    let answer = raw_exchange(
        &server.url,
        b"GET http://attacker.example/api/model HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .0;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let answer = raw_exchange(
        &server.url,
        b"GET http://localhost/api/model HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .0;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = raw_exchange(
        &server.url,
        b"GET /api/model HTTP/1.0\r\nConnection: close\r\n\r\n",
    )
    .0;
    assert!(
        answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.0 400"),
        "{answer}"
    );
    assert!(server.interrupt(), "Ctrl-C did not stop the server cleanly");
}
