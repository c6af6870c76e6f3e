import { describe, expect, it } from "vitest";
import { contactLink, groupLink, parseChatLink, suggestContactName } from "./links";

const KEY = `02${"ab".repeat(32)}`;
const GROUP = "0123456789abcdef0123456789abcdef";
const GROUP_KEY = "cd".repeat(32);

describe("chat links", () => {
  it("makes contact and group links that read back", () => {
    const c = contactLink("http://127.0.0.1:3000/", KEY, "Alice B");
    expect(c).toBe(`http://127.0.0.1:3000/chat#contact=${KEY}&name=Alice+B`);
    expect(parseChatLink(new URL(c).hash)).toEqual({ kind: "contact", publicKey: KEY, name: "Alice B" });
    const g = groupLink("https://postbox.example", GROUP, GROUP_KEY);
    expect(g).toBe(`https://postbox.example/chat#group=${GROUP}&key=${GROUP_KEY}`);
    expect(parseChatLink(new URL(g).hash)).toEqual({
      kind: "group",
      id: GROUP,
      key: GROUP_KEY,
      name: undefined,
    });
  });

  it("accepts keys in capitals or with 0x, and says what is wrong with a damaged link", () => {
    expect(parseChatLink(`#contact=0x${KEY.toUpperCase()}`)).toMatchObject({
      kind: "contact",
      publicKey: KEY,
    });
    expect(parseChatLink(`#contact=${KEY.slice(0, 40)}`)).toMatchObject({
      kind: "invalid",
      message: expect.stringMatching(/^This contact link is damaged/),
    });
    expect(parseChatLink(`#contact=04${"ab".repeat(32)}`)).toMatchObject({ kind: "invalid" });
    expect(parseChatLink(`#group=${GROUP}`)).toMatchObject({
      kind: "invalid",
      message: expect.stringMatching(/no valid key/),
    });
    expect(parseChatLink(`#group=xyz&key=${GROUP_KEY}`)).toMatchObject({
      kind: "invalid",
      message: expect.stringMatching(/group id/),
    });
    expect(parseChatLink("")).toBeUndefined();
    expect(parseChatLink("#section")).toBeUndefined();
  });

  it("keeps a link's name plain and short", () => {
    const link = parseChatLink(`#contact=${KEY}&name=${encodeURIComponent(`a\u0000b${"x".repeat(100)}`)}`);
    expect(link).toMatchObject({ kind: "contact", name: `ab${"x".repeat(62)}` });
  });

  it("suggests a contact name the client accepts", () => {
    expect(suggestContactName("Alice B", KEY)).toBe("Alice-B");
    expect(suggestContactName("Zoë", KEY)).toBe("Zoe");
    expect(suggestContactName("!!!", KEY)).toBe("contact-abababab");
    expect(suggestContactName(undefined, KEY)).toBe("contact-abababab");
  });
});
