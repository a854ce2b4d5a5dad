// Minimal types for email-reply-parser 2.x (it ships none).
declare module 'email-reply-parser' {
  interface Fragment {
    getContent(): string;
    isQuoted(): boolean;
    isSignature(): boolean;
    isHidden(): boolean;
  }
  interface Email {
    getVisibleText(): string;
    getFragments(): Fragment[];
  }
  export default class EmailReplyParser {
    read(text: string): Email;
  }
}
