/**
 * Free-mail providers: anyone can have an address there, so such a domain never identifies a
 * counterparty. The big international and European providers (the product's first users write in
 * English and French); an address at one of them may still be a listed contact, the domain itself never
 * an accepted counterparty domain.
 */
const FREE_MAIL = new Set([
  'gmail.com', 'googlemail.com',
  'outlook.com', 'outlook.fr', 'hotmail.com', 'hotmail.fr', 'hotmail.co.uk', 'hotmail.de', 'hotmail.it', 'hotmail.es', 'live.com', 'live.fr', 'live.co.uk', 'msn.com', 'windowslive.com',
  'yahoo.com', 'yahoo.fr', 'yahoo.co.uk', 'yahoo.de', 'yahoo.es', 'yahoo.it', 'yahoo.ca', 'yahoo.co.jp', 'ymail.com', 'rocketmail.com',
  'aol.com', 'aim.com', 'aol.fr',
  'icloud.com', 'me.com', 'mac.com',
  'proton.me', 'protonmail.com', 'protonmail.ch', 'pm.me',
  'gmx.com', 'gmx.net', 'gmx.de', 'gmx.fr', 'gmx.at', 'gmx.ch', 'web.de', 'mail.com', 'email.com',
  'yandex.com', 'yandex.ru', 'ya.ru', 'mail.ru', 'bk.ru', 'inbox.ru', 'list.ru', 'rambler.ru',
  'zoho.com', 'zohomail.com', 'fastmail.com', 'fastmail.fm', 'tutanota.com', 'tuta.io', 'hey.com', 'hushmail.com', 'mailfence.com', 'posteo.de', 'mailbox.org',
  'qq.com', '163.com', '126.com', 'sina.com', 'naver.com', 'daum.net', 'rediffmail.com',
  'orange.fr', 'wanadoo.fr', 'free.fr', 'laposte.net', 'sfr.fr', 'neuf.fr', 'bbox.fr', 'numericable.fr',
  't-online.de', 'freenet.de', 'arcor.de',
  'libero.it', 'virgilio.it', 'tiscali.it', 'alice.it',
  'btinternet.com', 'sky.com', 'virginmedia.com', 'talktalk.net',
  'comcast.net', 'verizon.net', 'att.net', 'sbcglobal.net', 'bellsouth.net', 'cox.net', 'charter.net', 'earthlink.net',
  'seznam.cz', 'wp.pl', 'o2.pl', 'interia.pl', 'onet.pl',
  'skynet.be', 'telenet.be', 'bluewin.ch', 'ziggo.nl', 'kpnmail.nl', 'home.nl',
]);

/** True when the domain (or a domain it is under, e.g. mail.gmail.com) is a free-mail provider. */
export function isFreeMailDomain(domain: string): boolean {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.');
  for (let i = 0; i < labels.length - 1; i++) if (FREE_MAIL.has(labels.slice(i).join('.'))) return true;
  return false;
}

/** The problem with a counterparty's `domains`, one per free-mail domain (none when all are fine). */
export function freeMailDomainProblems(domains: string[]): { path: string; message: string }[] {
  return domains.flatMap((d, i) =>
    isFreeMailDomain(d)
      ? [{ path: `counterparty.domains[${i}]`, message: `${d} is a free-mail provider: anyone can have an address there, so it cannot identify the counterparty; list the contacts' own addresses in counterparty.contacts instead` }]
      : [],
  );
}
