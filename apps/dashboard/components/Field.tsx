"use client";

import { type ReactNode, useId, useState } from "react";

/**
 * A labelled input that says what is wrong with its value next to it, as the user types:
 * `aria-invalid` and `aria-describedby` point assistive technology at the same sentence. An empty
 * field shows its error only once the user has typed in it.
 */
export function Field({
  label,
  name,
  value,
  onChange,
  error,
  hint,
  placeholder,
  inputMode,
  size,
  rows,
  className,
}: {
  label: ReactNode;
  name: string;
  value: string;
  onChange: (value: string) => void;
  /** What is wrong with the value (undefined: nothing). */
  error?: string | undefined;
  /** A note shown when there is no error. */
  hint?: ReactNode;
  placeholder?: string;
  inputMode?: "decimal" | "numeric" | "text";
  size?: number;
  /** A text area of this many rows instead of a one-line input (a paste keeps its line breaks). */
  rows?: number;
  className?: string;
}) {
  const id = useId();
  const [touched, setTouched] = useState(false);
  const shown = error !== undefined && (touched || value !== "") ? error : undefined;
  const note = shown ?? hint;
  const common = {
    id,
    name,
    value,
    placeholder,
    autoComplete: "off",
    spellCheck: false,
    "aria-invalid": shown ? true : undefined,
    "aria-describedby": note ? `${id}-note` : undefined,
    onChange: (e: { target: { value: string } }) => {
      setTouched(true);
      onChange(e.target.value);
    },
  } as const;
  return (
    <div className={`field${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>{label}</label>
      {rows ? <textarea rows={rows} {...common} /> : <input inputMode={inputMode} size={size} {...common} />}
      {note ? (
        <span
          id={`${id}-note`}
          className={shown ? "field-error" : "field-hint"}
          data-testid={shown ? "field-error" : undefined}
        >
          {note}
        </span>
      ) : null}
    </div>
  );
}
