//! An OpenAI-compatible chat-completions client: one `POST {base_url}/chat/completions`,
//! answered with the first choice's text. It works with hosted services and with local model
//! servers (llama.cpp's, vLLM's, Ollama's `/v1`), which speak the same request.
//!
//! It goes out through the channels' HTTP client, so the network policy holds for an address
//! an admin typed in (a model on loopback or the office network needs the operator's
//! permission, as a channel does). It makes one attempt within the organisation's timeout and
//! never retries: a message whose model fails is written from its template instead, at once.
//! (`async-openai` was considered; its built-in retry with back-off on 429 and 5xx answers
//! works against a hard per-message deadline, and the request is this one call.)

use super::http::error_chain;
use super::Channels;
use crate::domain::engagement::generation::{ChatMessage, ModelSettings};
use serde::{Deserialize, Serialize};

/// The most of an answer read: a chat completion for one short message is a few kilobytes.
const MAX_ANSWER: usize = 1 << 20;

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    temperature: f32,
    max_tokens: u32,
    /// The request's correlation id, also sent as `X-Correlation-Id` (OpenAI's `user` field
    /// names the end user; this names the message, which is what an operator traces).
    user: &'a str,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

/// Asks the model for one message; the answer's text, or why there is none (one line, for the
/// delivery's record).
pub async fn complete(
    channels: &Channels,
    settings: &ModelSettings,
    key: &str,
    messages: &[ChatMessage],
    correlation_id: &str,
) -> Result<String, String> {
    let timeout = settings.timeout();
    let seconds = format!("{} s", timeout.as_secs_f64());
    match tokio::time::timeout(
        timeout,
        ask(channels, settings, key, messages, correlation_id),
    )
    .await
    {
        Ok(answer) => answer,
        Err(_) => Err(format!("the model did not answer within {seconds}")),
    }
}

async fn ask(
    channels: &Channels,
    settings: &ModelSettings,
    key: &str,
    messages: &[ChatMessage],
    correlation_id: &str,
) -> Result<String, String> {
    let url = reqwest::Url::parse(&settings.endpoint())
        .map_err(|e| format!("the model's address is not a URL: {e}"))?;
    channels
        .policy
        .check_url(&url)
        .map_err(|e| format!("the model's address is refused by the network policy: {e}"))?;
    let mut req = channels
        .http
        .post(url)
        // The deadline is `complete`'s; this only lifts the channels' own, shorter one.
        .timeout(settings.timeout() + std::time::Duration::from_secs(1))
        .header("x-correlation-id", correlation_id)
        .json(&Request {
            model: &settings.model,
            messages,
            temperature: 0.7,
            max_tokens: 600,
            user: correlation_id,
        });
    if !key.is_empty() {
        req = req.bearer_auth(key);
    }
    let mut res = req
        .send()
        .await
        .map_err(|e| format!("the model could not be reached: {}", error_chain(&e)))?;
    let status = res.status();
    let (body, cut) = super::net::read_capped(&mut res, MAX_ANSWER)
        .await
        .map_err(|e| format!("the model's answer broke off: {e}"))?;
    if cut && status.is_success() {
        return Err(format!(
            "the model's answer is longer than {MAX_ANSWER} bytes"
        ));
    }
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body)
            .trim()
            .chars()
            .take(200)
            .collect();
        return Err(format!(
            "the model answered HTTP {}: {text}",
            status.as_u16()
        ));
    }
    let answer: Response = serde_json::from_slice(&body)
        .map_err(|e| format!("the model's answer is not a chat completion: {e}"))?;
    answer
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message)
        .and_then(|m| m.content)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| "the model answered with no text".to_string())
}
