//! The senders the settings choose, one per channel (NTF-1).

use super::jpush::Jpush;
use super::senders::{self, Sender};
use super::tencent::TencentSms;
use crate::platform::config::{DeliverySettings, PushSettings, SmsSettings};

/// The three channels' senders.
pub struct Senders {
    pub sms: Box<dyn Sender>,
    pub email: Box<dyn Sender>,
    pub push: Box<dyn Sender>,
}

impl Senders {
    /// The senders the settings name; the development sender where none is
    /// configured.
    pub fn from_settings(s: &DeliverySettings) -> Result<Senders, String> {
        let sms: Box<dyn Sender> = match &s.sms {
            SmsSettings::Development => Box::new(senders::Development),
            SmsSettings::Tencent { .. } => Box::new(TencentSms::new(&s.sms)?),
        };
        let email: Box<dyn Sender> = match &s.smtp_url {
            None => Box::new(senders::Development),
            Some(url) => Box::new(senders::Smtp::new(url, &s.mail_from)?),
        };
        let push: Box<dyn Sender> = match &s.push {
            PushSettings::Development => Box::new(senders::Development),
            PushSettings::Jpush { .. } => Box::new(Jpush::new(&s.push)?),
        };
        Ok(Senders { sms, email, push })
    }

    pub fn for_channel(&self, channel: &str) -> Option<&dyn Sender> {
        match channel {
            "sms" => Some(self.sms.as_ref()),
            "email" => Some(self.email.as_ref()),
            "push" => Some(self.push.as_ref()),
            _ => None,
        }
    }
}
