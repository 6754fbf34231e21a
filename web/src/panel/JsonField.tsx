/**
 * An rjsf field for values the form's widgets cannot edit: untyped schema parts (an API call's
 * `body`), type unions and free-form objects. The text is read as JSON when it parses and as a
 * plain string otherwise, so `hello` and `{"a": 1}` both mean what they look like.
 */
import { useState } from "react";
import type { FieldProps } from "@rjsf/utils";
import { literalText, parseLiteral } from "../mapping/model";

export function JsonField(props: FieldProps) {
  const { formData, onChange, fieldPathId, disabled, readonly, schema } = props;
  const [text, setText] = useState(() => literalText(formData));
  // The panel remounts the form on Cancel, so the text starts from the value only once.
  const wantsJson = typeof schema.type !== "string" || schema.type === "object" || schema.type === "array";
  return (
    <textarea
      id={fieldPathId.$id}
      className="json-field"
      rows={Math.min(8, Math.max(2, text.split("\n").length))}
      value={text}
      disabled={disabled || readonly}
      spellCheck={false}
      placeholder={wantsJson ? "JSON, e.g. {\"key\": \"value\"}" : undefined}
      onChange={(e) => {
        const next = e.target.value;
        setText(next);
        const value = next.trim() === "" ? undefined : parseLiteral(next, "any");
        onChange(value, fieldPathId.path);
      }}
    />
  );
}
