//! The pages' two languages: English unless the browser prefers French (or the user chose a
//! language with the switch, kept in the `lang` cookie).

use actix_web::http::header;
use actix_web::HttpRequest;
use ardoise_domain::{CardState, DomainError, Money};

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

/// The cookie that keeps the language chosen with the switch.
pub const LANG_COOKIE: &str = "ardoise_lang";

impl Lang {
    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language from its code.
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The language of a request: the switch's cookie, else the first supported language of
    /// `Accept-Language`, else English.
    pub fn of(req: &HttpRequest) -> Lang {
        if let Some(lang) = req.cookie(LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
            return lang;
        }
        let header = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        for range in header.split(',') {
            let tag = range.split(';').next().unwrap_or_default().trim();
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(lang) = Lang::parse(&primary.to_ascii_lowercase()) {
                return lang;
            }
        }
        Lang::En
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        }
    }

    /// The texts of the pages in this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }

    /// An amount as the pages show it: `12.40 €` / `12,40 €`.
    pub fn money(self, amount: Money) -> String {
        let text = amount.to_fixed2();
        match self {
            Lang::En => format!("{text} €"),
            Lang::Fr => format!("{} €", text.replace('.', ",")),
        }
    }

    /// What a refusal says to the staff, naming the reason.
    pub fn error(self, e: &DomainError) -> String {
        let fr = self == Lang::Fr;
        match e {
            DomainError::Malformed(what) => {
                if fr {
                    format!("Requête invalide : {what}")
                } else {
                    format!("Invalid request: {what}")
                }
            }
            DomainError::InsufficientFunds { balance, missing } => {
                if fr {
                    format!(
                        "Solde insuffisant ({}) : il manque {}.",
                        self.money(*balance),
                        self.money(*missing)
                    )
                } else {
                    format!(
                        "Insufficient balance ({}): {} missing.",
                        self.money(*balance),
                        self.money(*missing)
                    )
                }
            }
            DomainError::CardNotUsable(state) => {
                format!("{} {}", self.t().card_not_usable, self.state(*state))
            }
            DomainError::BalanceCeiling { balance, max } => {
                if fr {
                    format!(
                        "Le solde {} dépasserait le maximum de la carte, {}.",
                        self.money(*balance),
                        self.money(*max)
                    )
                } else {
                    format!(
                        "The balance {} would go above the card's maximum, {}.",
                        self.money(*balance),
                        self.money(*max)
                    )
                }
            }
            DomainError::TooManyAttempts {
                retry_after_seconds,
            } => {
                if fr {
                    format!("Trop d'essais manqués : réessayez dans {retry_after_seconds} s.")
                } else {
                    format!("Too many failed attempts: try again in {retry_after_seconds} s.")
                }
            }
            DomainError::VoucherAlreadyUsed { at, by, .. } => {
                let at = at.format("%Y-%m-%d %H:%M:%S UTC");
                if fr {
                    format!("Ce bon a déjà été utilisé le {at} par {by}.")
                } else {
                    format!("This voucher was already used at {at} by {by}.")
                }
            }
            DomainError::CardReplaced(by) => {
                if fr {
                    format!("Cette carte a été remplacée par la carte {by}.")
                } else {
                    format!("This card was replaced by card {by}.")
                }
            }
            other => {
                let (en, fr_text) = simple_error(other);
                if fr {
                    fr_text.to_owned()
                } else {
                    en.to_owned()
                }
            }
        }
    }

    /// A label's separator before its value: `Status: active`, `État : active`.
    pub fn colon(self) -> &'static str {
        match self {
            Lang::En => ": ",
            Lang::Fr => " : ",
        }
    }

    /// A card's state in words.
    pub fn state(self, state: CardState) -> &'static str {
        let t = self.t();
        match state {
            CardState::Active => t.state_active,
            CardState::Blocked => t.state_blocked,
            CardState::Lost => t.state_lost,
            CardState::Expired => t.state_expired,
        }
    }
}

/// The refusals whose text has no figure in it.
fn simple_error(e: &DomainError) -> (&'static str, &'static str) {
    use DomainError::*;
    match e {
        InvalidToken => (
            "Your session has ended: log in again.",
            "Votre session a expiré : reconnectez-vous.",
        ),
        InsufficientRights => (
            "Your rights do not allow this.",
            "Vos droits ne le permettent pas.",
        ),
        StorageUnavailable => (
            "The database is unavailable: try again in a moment.",
            "La base de données est indisponible : réessayez dans un instant.",
        ),
        InvalidCredentials => (
            "Wrong login or password.",
            "Identifiant ou mot de passe incorrect.",
        ),
        UnknownStaffCard => ("Unknown staff card.", "Carte de personnel inconnue."),
        UnknownUser => ("Unknown staff user.", "Membre du personnel inconnu."),
        UserExists => (
            "A staff user with this login exists.",
            "Un membre du personnel a déjà cet identifiant.",
        ),
        UnknownCard => ("Unknown card.", "Carte inconnue."),
        CardExists => ("This card already exists.", "Cette carte existe déjà."),
        NegativeBalance => (
            "The opening balance must be above zero.",
            "Le solde d'ouverture doit être positif.",
        ),
        NegativeTopUp => (
            "A top-up must be above zero.",
            "Un rechargement doit être positif.",
        ),
        NegativePayment => (
            "A payment must be above zero.",
            "Un paiement doit être positif.",
        ),
        UnknownProduct => ("Unknown product.", "Produit inconnu."),
        UnknownTransaction => ("Unknown transaction.", "Transaction inconnue."),
        AlreadyCancelled => (
            "This transaction is already cancelled.",
            "Cette transaction est déjà annulée.",
        ),
        AlreadyActive => (
            "This transaction is already active.",
            "Cette transaction est déjà active.",
        ),
        CorrectionWindowClosed => (
            "Too late: the time to correct this transaction is over.",
            "Trop tard : le délai pour corriger cette transaction est passé.",
        ),
        NotOwnTransaction => (
            "This transaction was made by another staff member.",
            "Cette transaction a été faite par quelqu'un d'autre.",
        ),
        IdempotencyKeyReused => (
            "This form was already used for another operation: nothing was done.",
            "Ce formulaire a déjà servi pour une autre opération : rien n'a été fait.",
        ),
        UnknownCategory => ("Unknown category.", "Catégorie inconnue."),
        CategoryExists => (
            "A category of this name exists.",
            "Une catégorie de ce nom existe déjà.",
        ),
        ProductExists => (
            "A product of this name exists.",
            "Un produit de ce nom existe déjà.",
        ),
        UnknownMember => ("Unknown member.", "Membre inconnu."),
        CardLinkedToOther => (
            "This card belongs to another member.",
            "Cette carte appartient à un autre membre.",
        ),
        CardNotLinked => (
            "This card is not linked to this member.",
            "Cette carte n'est pas liée à ce membre.",
        ),
        NotCorrectable => (
            "This transaction cannot be cancelled or redone.",
            "Cette transaction ne peut être ni annulée ni refaite.",
        ),
        SelfTransfer => (
            "You cannot pay yourself.",
            "Vous ne pouvez pas vous payer vous-même.",
        ),
        MemberSuspended => (
            "This member is suspended from the exchange.",
            "Ce membre est suspendu de l'échange.",
        ),
        ExchangeDisabled => (
            "The members' exchange is switched off.",
            "L'échange entre membres est désactivé.",
        ),
        CardBlocked(_) => (
            "The card cannot be used for this payment.",
            "La carte ne peut pas servir à ce paiement.",
        ),
        UnknownOffer => ("Unknown offer.", "Offre inconnue."),
        OfferClosed => ("This offer is closed.", "Cette offre est close."),
        UnknownConversation => ("Unknown conversation.", "Conversation inconnue."),
        UnknownMessage => ("Unknown message.", "Message inconnu."),
        UnknownTransfer => ("Unknown transfer.", "Virement inconnu."),
        InvalidLink => (
            "This link is no longer valid: ask for a new one.",
            "Ce lien n'est plus valable : demandez-en un nouveau.",
        ),
        EmailTaken => (
            "Another member has this e-mail address.",
            "Un autre membre a déjà cette adresse électronique.",
        ),
        UnknownBusinessCard => ("Unknown business card.", "Carte de visite inconnue."),
        BusinessCardExists => (
            "This member already has a business card.",
            "Ce membre a déjà une carte de visite.",
        ),
        ProfileLimitReached => (
            "The limit of business cards is reached.",
            "La limite de cartes de visite est atteinte.",
        ),
        UnknownVoucher => ("Unknown voucher.", "Bon inconnu."),
        VoucherExpired => ("This voucher has expired.", "Ce bon a expiré."),
        _ => (
            "Something went wrong: nothing was done.",
            "Une erreur est survenue : rien n'a été fait.",
        ),
    }
}

/// Every text of the pages. The English names of controls are a contract (see
/// `docs/web.md`): acceptance tests find them by role and accessible name.
pub struct Texts {
    pub lang_name: &'static str,
    pub switch_to: &'static str,
    pub skip: &'static str,
    pub till: &'static str,
    pub office: &'static str,
    pub log_out: &'static str,
    pub logged_in_as: &'static str,
    pub log_in_title: &'static str,
    pub login: &'static str,
    pub password: &'static str,
    pub log_in: &'static str,
    pub staff_card: &'static str,
    pub log_in_card: &'static str,
    pub or: &'static str,
    pub session_ended: &'static str,
    pub not_found: &'static str,
    pub not_found_text: &'static str,
    pub forbidden: &'static str,
    pub forbidden_text: &'static str,
    pub back_home: &'static str,
    pub bad_form: &'static str,
    pub card: &'static str,
    pub show_card: &'static str,
    pub balance: &'static str,
    pub status: &'static str,
    pub member: &'static str,
    pub no_card: &'static str,
    pub unknown_card_hint: &'static str,
    pub products: &'static str,
    pub other_products: &'static str,
    pub order: &'static str,
    pub order_empty: &'static str,
    pub total: &'static str,
    pub clear: &'static str,
    pub amount: &'static str,
    pub pay: &'static str,
    pub top_up: &'static str,
    pub hand_back: &'static str,
    pub new_card: &'static str,
    pub recent: &'static str,
    pub recent_none: &'static str,
    pub cancel: &'static str,
    pub redo: &'static str,
    pub cancelled: &'static str,
    pub paid: &'static str,
    pub topped_up: &'static str,
    pub handed_back: &'static str,
    pub opened: &'static str,
    pub was_cancelled: &'static str,
    pub was_redone: &'static str,
    pub already_done: &'static str,
    pub order_paid: &'static str,
    pub order_not_paid: &'static str,
    pub new_balance: &'static str,
    pub card_not_usable: &'static str,
    pub need_card: &'static str,
    pub voucher: &'static str,
    pub redeem: &'static str,
    pub voucher_redeemed: &'static str,
    pub need_amount: &'static str,
    pub state_active: &'static str,
    pub state_blocked: &'static str,
    pub state_lost: &'static str,
    pub state_expired: &'static str,
    pub kind_creation: &'static str,
    pub kind_topup: &'static str,
    pub kind_payment: &'static str,
    pub kind_drain: &'static str,
    pub kind_transfer: &'static str,
    pub kind_import_adjustment: &'static str,
    pub kind_coupon: &'static str,
    pub kind_partner_debit: &'static str,
    pub when: &'static str,
    pub what: &'static str,
    pub by: &'static str,
    pub categories: &'static str,
    pub staff: &'static str,
    pub partners: &'static str,
    pub cards: &'static str,
    pub members: &'static str,
    pub reports: &'static str,
    pub office_intro: &'static str,
    pub name: &'static str,
    pub unit_price: &'static str,
    pub category: &'static str,
    pub no_category: &'static str,
    pub bundles: &'static str,
    pub bundles_hint: &'static str,
    pub save: &'static str,
    pub delete: &'static str,
    pub add_product: &'static str,
    pub add_category: &'static str,
    pub edit: &'static str,
    pub saved: &'static str,
    pub deleted: &'static str,
    pub none_yet: &'static str,
    pub rights: &'static str,
    pub add_staff: &'static str,
}

/// English.
pub static EN: Texts = Texts {
    lang_name: "English",
    switch_to: "Français",
    skip: "Skip to content",
    till: "Till",
    office: "Office",
    log_out: "Log out",
    logged_in_as: "Logged in as",
    log_in_title: "Log in",
    login: "Login",
    password: "Password",
    log_in: "Log in",
    staff_card: "Staff card",
    log_in_card: "Use the staff card",
    or: "or",
    session_ended: "Your session has ended: log in again to go on.",
    not_found: "Page not found",
    not_found_text: "There is no page at this address.",
    forbidden: "Not allowed",
    forbidden_text: "Your rights do not allow you to open this page.",
    back_home: "Back to the start",
    bad_form: "The form is out of date: reload the page and try again.",
    card: "Card",
    show_card: "Show card",
    balance: "Balance",
    status: "Status",
    member: "Member",
    no_card: "Scan or type a card to start.",
    unknown_card_hint: "This card is new: type its opening balance in Amount, then New card.",
    products: "Products",
    other_products: "Other",
    order: "Order",
    order_empty: "Nothing yet: press a product.",
    total: "Total",
    clear: "Clear",
    amount: "Amount",
    pay: "Pay",
    top_up: "Top up",
    hand_back: "Hand back",
    new_card: "New card",
    recent: "Recent transactions",
    recent_none: "You have made no transaction yet.",
    cancel: "Cancel",
    redo: "Redo",
    cancelled: "cancelled",
    paid: "Paid",
    topped_up: "Topped up",
    handed_back: "Handed back",
    opened: "Card opened with",
    was_cancelled: "Cancelled",
    was_redone: "Redone",
    already_done: "(already done: this form had been sent before)",
    order_paid: "Paid:",
    order_not_paid: "Not paid:",
    new_balance: "new balance",
    card_not_usable: "The card cannot be used:",
    need_card: "Scan or type a card first.",
    voucher: "Voucher",
    redeem: "Redeem",
    voucher_redeemed: "Voucher redeemed:",
    need_amount: "Type an amount, e.g. 12.50.",
    state_active: "active",
    state_blocked: "blocked",
    state_lost: "lost",
    state_expired: "expired",
    kind_creation: "Opening",
    kind_topup: "Top-up",
    kind_payment: "Payment",
    kind_drain: "Hand-back",
    kind_transfer: "Transfer",
    kind_import_adjustment: "Import adjustment",
    kind_coupon: "Coupon",
    kind_partner_debit: "Partner debit",
    when: "When",
    what: "What",
    by: "By",
    categories: "Categories",
    staff: "Staff",
    partners: "Partners",
    cards: "Cards",
    members: "Members",
    reports: "Reports",
    office_intro: "The bar's books and settings.",
    name: "Name",
    unit_price: "Unit price",
    category: "Category",
    no_category: "(none)",
    bundles: "Bundles",
    bundles_hint: "Optional: quantity=price, comma-separated, e.g. 6=9.00",
    save: "Save",
    delete: "Delete",
    add_product: "Add a product",
    add_category: "Add a category",
    edit: "Edit",
    saved: "Saved.",
    deleted: "Deleted.",
    none_yet: "None yet.",
    rights: "Rights",
    add_staff: "Add a staff member",
};

/// Français.
pub static FR: Texts = Texts {
    lang_name: "Français",
    switch_to: "English",
    skip: "Aller au contenu",
    till: "Caisse",
    office: "Bureau",
    log_out: "Se déconnecter",
    logged_in_as: "Connecté en tant que",
    log_in_title: "Connexion",
    login: "Identifiant",
    password: "Mot de passe",
    log_in: "Se connecter",
    staff_card: "Carte du personnel",
    log_in_card: "Utiliser la carte",
    or: "ou",
    session_ended: "Votre session a expiré : reconnectez-vous pour continuer.",
    not_found: "Page introuvable",
    not_found_text: "Il n'y a pas de page à cette adresse.",
    forbidden: "Accès refusé",
    forbidden_text: "Vos droits ne permettent pas d'ouvrir cette page.",
    back_home: "Retour à l'accueil",
    bad_form: "Le formulaire a expiré : rechargez la page et recommencez.",
    card: "Carte",
    show_card: "Afficher la carte",
    balance: "Solde",
    status: "État",
    member: "Membre",
    no_card: "Scannez ou tapez une carte pour commencer.",
    unknown_card_hint:
        "Cette carte est nouvelle : tapez son solde d'ouverture dans Montant, puis Nouvelle carte.",
    products: "Produits",
    other_products: "Autres",
    order: "Commande",
    order_empty: "Rien pour l'instant : appuyez sur un produit.",
    total: "Total",
    clear: "Effacer",
    amount: "Montant",
    pay: "Payer",
    top_up: "Recharger",
    hand_back: "Rembourser",
    new_card: "Nouvelle carte",
    recent: "Transactions récentes",
    recent_none: "Vous n'avez encore fait aucune transaction.",
    cancel: "Annuler",
    redo: "Refaire",
    cancelled: "annulée",
    paid: "Payé",
    topped_up: "Rechargé",
    handed_back: "Remboursé",
    opened: "Carte ouverte avec",
    was_cancelled: "Annulé",
    was_redone: "Refait",
    already_done: "(déjà fait : ce formulaire avait déjà été envoyé)",
    order_paid: "Payé :",
    order_not_paid: "Non payé :",
    new_balance: "nouveau solde",
    card_not_usable: "La carte ne peut pas être utilisée :",
    need_card: "Scannez ou tapez d'abord une carte.",
    voucher: "Bon",
    redeem: "Utiliser",
    voucher_redeemed: "Bon utilisé :",
    need_amount: "Tapez un montant, par exemple 12,50.",
    state_active: "active",
    state_blocked: "bloquée",
    state_lost: "perdue",
    state_expired: "expirée",
    kind_creation: "Ouverture",
    kind_topup: "Rechargement",
    kind_payment: "Paiement",
    kind_drain: "Remboursement",
    kind_transfer: "Transfert",
    kind_import_adjustment: "Ajustement d'import",
    kind_coupon: "Bon d'achat",
    kind_partner_debit: "Débit partenaire",
    when: "Quand",
    what: "Quoi",
    by: "Par",
    categories: "Catégories",
    staff: "Personnel",
    partners: "Partenaires",
    cards: "Cartes",
    members: "Membres",
    reports: "Rapports",
    office_intro: "Les comptes et réglages du bar.",
    name: "Nom",
    unit_price: "Prix unitaire",
    category: "Catégorie",
    no_category: "(aucune)",
    bundles: "Lots",
    bundles_hint: "Facultatif : quantité=prix, séparés par des virgules, ex. 6=9,00",
    save: "Enregistrer",
    delete: "Supprimer",
    add_product: "Ajouter un produit",
    add_category: "Ajouter une catégorie",
    edit: "Modifier",
    saved: "Enregistré.",
    deleted: "Supprimé.",
    none_yet: "Aucun pour l'instant.",
    rights: "Droits",
    add_staff: "Ajouter un membre du personnel",
};
