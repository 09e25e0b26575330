// The envelope of one message as SMTP carried it: what the submission and inbound sessions hand to the outbound
// queue, and what the queue's client sends on. Pure values.

public struct EnvelopeRecipient: Sendable, Hashable {
    public var mailbox: SMTPMailbox
    public var parameters: RecipientParameters

    public init(mailbox: SMTPMailbox, parameters: RecipientParameters = RecipientParameters()) {
        self.mailbox = mailbox
        self.parameters = parameters
    }
}

public struct MailEnvelope: Sendable, Hashable {
    public var sender: ReversePath
    /// SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH= as given on MAIL FROM.
    public var parameters: MailParameters
    public var recipients: [EnvelopeRecipient]

    public init(sender: ReversePath, parameters: MailParameters = MailParameters(), recipients: [EnvelopeRecipient] = []) {
        self.sender = sender
        self.parameters = parameters
        self.recipients = recipients
    }
}
