//! Push through JPush (极光推送) REST API v3: `POST /v3/push` with HTTP
//! Basic authentication (`appKey:masterSecret`), the device's registration
//! id as the audience, an alert for Android and iOS.

use base64::Engine;

use super::senders::{Message, SendError, Sender, http_agent};
use crate::platform::config::PushSettings;

pub struct Jpush {
    authorization: String,
    endpoint: String,
    apns_production: bool,
    agent: ureq::Agent,
}

impl Jpush {
    pub fn new(settings: &PushSettings) -> Result<Jpush, String> {
        let PushSettings::Jpush {
            app_key,
            master_secret,
            endpoint,
            apns_production,
        } = settings
        else {
            return Err("not JPush settings".into());
        };
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{app_key}:{master_secret}"));
        Ok(Jpush {
            authorization: format!("Basic {basic}"),
            endpoint: endpoint.clone(),
            apns_production: *apns_production,
            agent: http_agent(),
        })
    }

    /// The push object of JPush's documentation, to one registration id.
    pub fn payload(&self, msg: &Message) -> serde_json::Value {
        let alert: String = msg.body.chars().take(200).collect();
        serde_json::json!({
            "platform": "all",
            "audience": {"registration_id": [msg.recipient]},
            "notification": {
                "alert": alert,
                "android": {"alert": alert, "title": msg.subject, "extras": {"kind": msg.kind}},
                "ios": {"alert": {"title": msg.subject, "body": alert}, "sound": "default", "extras": {"kind": msg.kind}},
            },
            "options": {
                "sendno": msg.outbox_id % 2_147_483_647,
                "apns_production": self.apns_production,
                "time_to_live": 86_400,
            },
        })
    }
}

impl Sender for Jpush {
    fn provider(&self) -> &'static str {
        "jpush"
    }

    fn send(&self, msg: &Message) -> Result<String, SendError> {
        let res = self
            .agent
            .post(&self.endpoint)
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/json")
            .send(self.payload(msg).to_string().as_bytes())
            .map_err(|e| SendError::new(format!("JPush unreachable: {e}")))?;
        let status = res.status().as_u16();
        let body: serde_json::Value = res
            .into_body()
            .read_to_string()
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        if status == 200 {
            return Ok(body["msg_id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| body["msg_id"].to_string()));
        }
        let code = body["error"]["code"].to_string();
        Err(SendError::new(format!(
            "JPush answered {status}, error {code}"
        )))
    }
}
