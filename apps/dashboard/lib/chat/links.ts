/**
 * Shareable chat links. Everything is in the URL's fragment (`/chat#contact=…`), which browsers
 * never send to the server: a group's key stays between the people who pass the link around.
 *
 * - `/chat#contact=<public key>&name=<name>`: add a contact (the name is a suggestion);
 * - `/chat#group=<id>&key=<key>&name=<name>`: join a group (anyone holding the link can read it).
 */

/** What a chat link offers, or why it cannot be used. */
export type ChatLink =
  | { kind: "contact"; publicKey: string; name: string | undefined }
  | { kind: "group"; id: string; key: string; name: string | undefined }
  | { kind: "invalid"; message: string };

const PUBLIC_KEY = /^0[23][0-9a-f]{64}$/;
const GROUP_ID = /^[0-9a-f]{32}$/;
const GROUP_KEY = /^[0-9a-f]{64}$/;

/** A display name from a link: plain text, at most 64 characters, or undefined. */
function cleanName(value: string | null): string | undefined {
  const text = value?.replace(/\p{C}/gu, "").trim().slice(0, 64);
  return text ? text : undefined;
}

/** Reads a chat link's fragment (`#contact=…` or `#group=…&key=…`); undefined when it is neither. */
export function parseChatLink(hash: string): ChatLink | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const contact = params.get("contact");
  const group = params.get("group");
  const name = cleanName(params.get("name"));
  if (contact !== null) {
    const publicKey = contact.trim().replace(/^0x/i, "").toLowerCase();
    if (!PUBLIC_KEY.test(publicKey))
      return {
        kind: "invalid",
        message:
          "This contact link is damaged: its public key is not 66 hexadecimal digits starting 02 or 03. Ask for the link again.",
      };
    return { kind: "contact", publicKey, name };
  }
  if (group !== null) {
    const id = group.trim().toLowerCase();
    const key = (params.get("key") ?? "").trim().toLowerCase();
    if (!GROUP_ID.test(id))
      return {
        kind: "invalid",
        message:
          "This group link is damaged: its group id is not 32 hexadecimal digits. Ask for the link again.",
      };
    if (!GROUP_KEY.test(key))
      return {
        kind: "invalid",
        message:
          "This group link has no valid key (64 hexadecimal digits after key=). Ask for the link again.",
      };
    return { kind: "group", id, key, name };
  }
  return undefined;
}

function link(origin: string, params: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) p.set(k, v);
  return `${origin.replace(/\/+$/, "")}/chat#${p.toString()}`;
}

/** The link that adds `publicKey` as a contact (named `name` if given). */
export function contactLink(origin: string, publicKey: string, name?: string): string {
  return link(origin, { contact: publicKey, name });
}

/** The link that joins a group: whoever holds it can read and write in the group. */
export function groupLink(origin: string, id: string, key: string, name?: string): string {
  return link(origin, { group: id, key, name });
}

/** A contact name the client accepts (1–64 letters, digits, `.`, `-`, `_`) made from any text. */
export function suggestContactName(text: string | undefined, publicKey: string): string {
  const cleaned = (text ?? "")
    .normalize("NFKD")
    .replace(/[^\w.-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
  return cleaned || `contact-${publicKey.slice(2, 10)}`;
}
