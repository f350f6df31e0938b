//! The welcome mail (the daily mail): a plain-text and an HTML part rendered
//! from templates, user data escaped in the HTML, and a Message-ID that is the same every
//! time it is built for one user, so a resend can be recognised as the same message.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use minijinja::{context, Environment};
use uuid::Uuid;

use super::MailError;

pub const SUBJECT: &str = "Welcome to Dispatch";

pub struct Recipient<'a> {
    pub user_id: Uuid,
    pub username: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // User data is escaped in the HTML part only.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    let _ = env.add_template("welcome.txt", include_str!("../../templates/welcome.txt.j2"));
    let _ = env.add_template("welcome.html", include_str!("../../templates/welcome.html.j2"));
    env
}

/// The Message-ID of a user's welcome mail: derived from the user, never random.
pub fn message_id(user_id: Uuid, from: &Mailbox) -> String {
    format!("<welcome.{}@{}>", user_id.simple(), from.email.domain())
}

pub fn build(from: &Mailbox, to: &Recipient<'_>) -> Result<Message, MailError> {
    let name = format!("{} {}", to.first_name, to.last_name);
    let name = if name.trim().is_empty() { to.username.to_owned() } else { name.trim().to_owned() };
    let env = environment();
    let render = |template: &str| {
        env.get_template(template)
            .and_then(|t| t.render(context! { name => name, username => to.username }))
            .map_err(|e| MailError::Build(e.to_string()))
    };
    let text = render("welcome.txt")?;
    let html = render("welcome.html")?;
    let mailbox = Mailbox::new(
        Some(name.clone()),
        to.email.parse().map_err(|e| MailError::Build(format!("recipient {}: {e}", to.email)))?,
    );
    Message::builder()
        .from(from.clone())
        .to(mailbox)
        .subject(SUBJECT)
        .message_id(Some(message_id(to.user_id, from)))
        .date_now()
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
        )
        .map_err(|e| MailError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::Mailer;

    fn ada(id: Uuid) -> Recipient<'static> {
        Recipient {
            user_id: id,
            username: "ada",
            email: "ada@example.com",
            first_name: "Ada <script>",
            last_name: "& Co",
        }
    }

    #[tokio::test]
    async fn eml_files_hold_both_parts_with_the_name_escaped_in_html() {
        let dir = std::env::temp_dir().join(format!("dispatch-mail-{}", Uuid::new_v4()));
        let mailer = Mailer::new(None, dir.clone(), "Dispatch <no-reply@dispatch.test>").unwrap();
        let id = Uuid::new_v4();
        let message = build(mailer.from(), &ada(id)).unwrap();
        mailer.send(message).await.unwrap();

        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let raw = std::fs::read(files[0].path()).unwrap();
        let parsed =
            mail_parser::MessageParser::default().parse(&raw).expect("a parseable message");
        assert_eq!(parsed.subject(), Some(SUBJECT));
        assert_eq!(
            parsed.message_id(),
            Some(format!("welcome.{}@dispatch.test", id.simple()).as_str())
        );
        assert!(parsed.date().is_some());
        assert_eq!(
            parsed.from().and_then(|f| f.first()).and_then(|a| a.address()),
            Some("no-reply@dispatch.test")
        );
        assert_eq!(
            parsed.to().and_then(|t| t.first()).and_then(|a| a.address()),
            Some("ada@example.com")
        );
        let text = parsed.body_text(0).expect("a plain-text part");
        assert!(text.contains("Hello Ada <script> & Co"), "{text}");
        let html = parsed.body_html(0).expect("an HTML part");
        assert!(html.contains("Hello Ada &lt;script&gt; &amp; Co"), "{html}");
        assert!(!html.contains("<script>"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A real SMTP server (Python's standard `smtpd` debugging server, which prints what it
    /// receives) accepts the message; a server that is not there is a transient failure.
    #[tokio::test]
    async fn smtp_delivers_to_a_real_server() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let mut server = tokio::process::Command::new("python3")
            .args(["-u", "-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the SMTP server");
        let url = format!("smtp://127.0.0.1:{port}");
        let mailer =
            Mailer::new(Some(&url), "/tmp".into(), "Dispatch <no-reply@dispatch.test>").unwrap();
        let id = Uuid::new_v4();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match mailer.send(build(mailer.from(), &ada(id)).unwrap()).await {
                Ok(()) => break,
                // The server may still be starting.
                Err(MailError::Transient(_)) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                Err(e) => panic!("not delivered: {e}"),
            }
        }
        let _ = server.start_kill();
        let output = server.wait_with_output().await.unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(printed.contains(&format!("welcome.{}@dispatch.test", id.simple())), "{printed}");
        assert!(printed.contains("Subject: Welcome to Dispatch"), "{printed}");

        let closed = Mailer::new(Some(&url), "/tmp".into(), "a@dispatch.test").unwrap();
        let outcome = closed.send(build(closed.from(), &ada(id)).unwrap()).await;
        assert!(matches!(outcome, Err(MailError::Transient(_))), "{outcome:?}");
    }

    #[test]
    fn the_message_id_is_stable_per_user() {
        let from: Mailbox = "Dispatch <no-reply@dispatch.test>".parse().unwrap();
        let id = Uuid::new_v4();
        assert_eq!(message_id(id, &from), message_id(id, &from));
        assert_ne!(message_id(id, &from), message_id(Uuid::new_v4(), &from));
    }

    #[test]
    fn a_bad_smtp_url_or_sender_is_a_configuration_error() {
        assert!(matches!(
            Mailer::new(Some("ftp://nowhere"), "/tmp".into(), "a@b.c"),
            Err(MailError::Config(_))
        ));
        assert!(matches!(
            Mailer::new(None, "/tmp".into(), "not a mailbox"),
            Err(MailError::Config(_))
        ));
    }

    #[test]
    fn plain_starttls_and_implicit_tls_urls_with_credentials_are_accepted() {
        for url in [
            "smtp://127.0.0.1:1025",
            "smtp://user:secret@mail.example.com:587?tls=required",
            "smtps://user:secret@mail.example.com:465",
        ] {
            assert!(Mailer::new(Some(url), "/tmp".into(), "a@b.c").is_ok(), "{url}");
        }
    }
}
