"""The one registry of menu sections: title, number, screen and help. Adding a section is one row.

Screens are named as "module:Class" and imported only when opened, so the menu costs nothing at
start-up. A row whose screen is None is a heading (its entries sit beneath it); a row whose
screen is not built yet opens an honest notice.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from textual.screen import Screen


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # as the menu shows it
    number: int | None = None  # 1–9: the manual's sections, also their menu key
    parent: str | None = None  # the heading this entry sits under
    screen: str | None = None  # "screens.module:Class"; None for a heading
    args: tuple = ()  # passed to the screen's constructor
    help: str = ""  # what it is for, in one or two sentences (F1 and «8. Ayuda» show it)
    audience: str = "socio"  # who sees it in their menu: "socio" or a staff role
    aliases: tuple[str, ...] = field(default=())  # other words the command palette finds it by
    menu: bool = True  # False: reached from its parent's screen and the command palette, not a menu row

    @property
    def heading(self) -> bool:
        return self.screen is None and any(s.parent == self.key and s.menu for s in SECTIONS)

    @property
    def plain_title(self) -> str:
        return self.title.split(". ", 1)[-1]


SECTIONS: list[Section] = [
    Section("productos", "1. Productos", 1, screen="screens.products.position:ProductsScreen",
            help="Tus cuentas, inversiones, créditos y tarjetas con su saldo; Enter abre el detalle de movimientos."),
    Section("transferencias", "2. Transferencias", 2),
    Section("transferencias_propias", "Transferencias a mis Cuentas", parent="transferencias",
            screen="screens.transfers.transfers:TransferScreen", args=("propia",),
            help="Mueve dinero entre tus propias cuentas de ahorros."),
    Section("transferencias_cooprogreso", "Transferencias Cooprogreso", parent="transferencias",
            screen="screens.transfers.transfers:TransferScreen", args=("terceros",),
            help="Envía dinero a la cuenta de otro socio de Cooprogreso."),
    Section("transferencias_interbancarias", "Transferencias Interbancarias", parent="transferencias",
            screen="screens.transfers.transfers:TransferScreen", args=("interbancaria",),
            help="Envía dinero a una cuenta de otro banco o cooperativa del país."),
    Section("beneficiarios", "Administración de Beneficiarios", parent="transferencias",
            screen="screens.transfers.beneficiaries:BeneficiariesScreen",
            help="Registra, edita o elimina las cuentas a las que transfieres con frecuencia."),
    Section("historial", "Historial de Transferencias", parent="transferencias",
            screen="screens.transfers.transfer_history:TransferHistoryScreen",
            help="Tus transferencias con su estado; Enter abre el comprobante."),
    Section("servicios", "3. Pago de Servicios", 3),
    Section("servicios_pagar", "Pagar Servicios", parent="servicios", screen="screens.bill_payments.service_pay:PayScreen",
            help="Consulta lo que debes a una entidad (luz, agua, teléfono, impuestos…) y paga una o varias "
                 "facturas, o haz una recarga; muestra tu cupo disponible hoy."),
    Section("servicios_registro", "Registro de Servicio", parent="servicios", screen="screens.bill_payments.services:ServicesScreen",
            help="Registra los servicios que pagas con frecuencia (categoría, cuenta de débito y número de cuenta o "
                 "contrato), cambia su alias o elimínalos; Enter paga el servicio."),
    Section("servicios_programar", "Programar Pago", parent="servicios",
            screen="screens.bill_payments.service_schedules:ProgramarScreen",
            help="Débitos automáticos mensuales de un servicio, con día de pago, monto máximo y fechas."),
    Section("servicios_programados", "Consultar Pagos Programados", parent="servicios",
            screen="screens.bill_payments.service_schedules:ConsultarScreen",
            help="Tus pagos programados con su próximo débito y último resultado; pausa, reanuda o cancela."),
    Section("servicios_historial", "Historial de Pagos", parent="servicios",
            screen="screens.bill_payments.service_history:PaymentHistoryScreen",
            help="Tus pagos de servicios, en línea o por débito automático, con filtros y CSV; Enter abre el comprobante."),
    Section("tarjetas", "4. Pago de Tarjetas", 4),
    Section("tarjetas_cooprogreso", "Tarjetas Cooprogreso", parent="tarjetas",
            screen="screens.cards.cards:CardPaymentScreen", args=("cooprogreso",),
            help="Paga tus tarjetas Cooprogreso (pago mínimo, pago total u otro valor hasta la fecha máxima de "
                 "pago) o la de otro socio que registres; F2 abre el estado de cuenta de tu tarjeta."),
    Section("tarjetas_otros", "Tarjetas Otros Bancos", parent="tarjetas",
            screen="screens.cards.cards:CardPaymentScreen", args=("otros",),
            help="Paga la tarjeta de crédito de otra institución: regístrala una vez y el pago viaja por la "
                 "red interbancaria."),
    Section("diferido", "5. Diferido Tarjetas Cooprogreso", 5),
    Section("diferido_transacciones", "Diferido Transacciones", parent="diferido",
            screen="screens.cards.deferrals:DeferralScreen", args=("consumos",),
            help="Elige consumos de tu tarjeta y un plazo; la simulación muestra la cuota, el interés y la "
                 "tabla de amortización antes de confirmar con tu código. F3 abre «Mis diferidos»."),
    Section("diferido_rotativo", "Diferido Saldo Actual Rotativo", parent="diferido",
            screen="screens.cards.deferrals:DeferralScreen", args=("rotativo",),
            help="Pasa tu saldo rotativo actual a cuotas fijas, con la misma simulación y confirmación."),
    Section("contacto", "6. Contacto", 6, screen="screens.contact.contact:ContactScreen",
            help="Los canales de atención de Cooprogreso (Call Center, WhatsApp, correo, web) y sus agencias, "
                 "filtradas por ciudad; desde aquí nos escribes (e) y ves tus mensajes (m).",
            aliases=("agencias", "canales", "teléfono", "call center", "whatsapp")),
    Section("contacto_escribenos", "Escríbenos", parent="contacto", screen="screens.contact.contact:WriteScreen",
            help="Envía a la cooperativa un reclamo, una consulta o una sugerencia y recibe un número de caso.",
            aliases=("reclamo", "queja", "consulta", "sugerencia"), menu=False),
    Section("contacto_mensajes", "Mis mensajes", parent="contacto", screen="screens.contact.contact:MessagesScreen",
            help="Tus mensajes a la cooperativa, su estado, el plazo de los reclamos y nuestras respuestas.",
            aliases=("casos", "respuestas"), menu=False),
    Section("solicitudes", "7. Solicita tus Productos", 7, screen="screens.products.product_requests:ProductRequestsScreen",
            help="Elige el tipo de producto (créditos, plazo fijo, tarjeta, cuenta de ahorros) y simula: cuota, interés "
                 "total, tasa efectiva y tabla de amortización, o el interés al vencimiento; luego solicítalo con tu "
                 "código (F4). F3 abre «Mis solicitudes».",
            aliases=("crédito", "préstamo", "simulador", "plazo fijo", "inversión", "certificado", "tarjeta de crédito")),
    Section("solicitudes_mias", "Mis solicitudes", parent="solicitudes", screen="screens.products.my_requests:MyRequestsScreen",
            help="Tus solicitudes de productos con su número y estado (Recibida, En revisión, Aprobada o Rechazada "
                 "con el motivo).", aliases=("estado de solicitud",), menu=False),
    Section("ayuda", "8. Ayuda", 8, screen="screens.help.help:FaqScreen",
            help="Preguntas frecuentes: escribe una palabra y la lista se filtra mientras escribes; «Acerca de» "
                 "(F2) dice la versión y dónde están el registro y la configuración; «Feriados» (F3), los días no "
                 "hábiles del año y su fuente; «Tasas máximas» (F4), los límites legales de interés vigentes.",
            aliases=("preguntas frecuentes", "faq", "dudas")),
    Section("ayuda_acerca", "Acerca de", parent="ayuda", screen="screens.help.help:AboutScreen",
            help="La versión de la aplicación, el contacto de la cooperativa y dónde están el registro y la "
                 "configuración.", aliases=("versión", "log", "configuración"), menu=False),
    Section("ayuda_feriados", "Feriados", parent="ayuda", screen="screens.help.help:HolidaysScreen",
            help="Los feriados del año con su fuente; lo que vence en sábado, domingo o feriado se paga el "
                 "siguiente día hábil.", aliases=("feriados", "calendario", "día hábil", "vencimiento"), menu=False),
    Section("ayuda_tasas", "Tasas máximas", parent="ayuda", screen="screens.help.help:RatesScreen",
            help="Las tasas de interés efectivas máximas vigentes por segmento de crédito, con su fuente.",
            aliases=("tasas", "interés", "tasa máxima", "BCE"), menu=False),
    Section("seguridad", "9. Centro de seguridad", 9, screen="screens.security.security_center:SecurityCenterScreen",
            help="Tus ingresos e intentos fallidos con canal y dirección, tus sesiones abiertas («Cerrar las demás "
                 "sesiones»), el cambio de contraseña con tu código, alertas por SMS y «No fui yo» (n) si no "
                 "reconoces un ingreso o un movimiento.",
            # «contraseña» last: the palette matches a word across the joined aliases
            aliases=("seguridad", "sesiones", "clave", "alertas", "no fui yo", "ingresos", "contraseña")),
    # -- cajeros: each staff role's own menu (audience = the role)
    Section("caja", "1. Mi caja", 1, screen="screens.branch.staff_till:TillScreen", audience="cajero",
            help="Abre tu caja con el efectivo contado y mira su saldo y las operaciones del día."),
    Section("deposito", "2. Depósito en efectivo", 2, screen="screens.branch.staff_cash:CashScreen",
            args=("deposito",), audience="cajero",
            help="Busca al socio por cédula, nombre o número de cuenta y acredita el efectivo recibido."),
    Section("retiro", "3. Retiro en efectivo", 3, screen="screens.branch.staff_cash:CashScreen",
            args=("retiro",), audience="cajero",
            help="Entrega efectivo de la cuenta de un socio; los montos altos esperan la aprobación del supervisor."),
    Section("cierre_caja", "4. Cierre de caja", 4, screen="screens.branch.staff_till:TillCloseScreen",
            audience="cajero", help="Cuenta el efectivo por denominación y cierra tu caja."),
    Section("registro_socio", "1. Registrar socio", 1, screen="screens.branch.staff_members:EnrolScreen",
            audience="atencion", help="Registra a una persona como socia (datos KYC) y abre su cuenta de ahorros."),
    Section("atencion_socio", "2. Atención al socio", 2, screen="screens.branch.staff_members:MemberCareScreen",
            audience="atencion",
            help="Desbloquea el usuario en línea, restablece el acceso o cambia el celular registrado."),
    Section("mensajes_socios", "3. Mensajes de socios", 3, screen="screens.branch.staff_contact:StaffContactScreen",
            audience="atencion", aliases=("reclamos", "casos", "contacto"),
            help="Reclamos, consultas y sugerencias de «Contacto»: los reclamos primero, por su plazo legal; "
                 "responde (el socio lo lee en «Mis mensajes») y cierra el caso."),
    Section("solicitudes_productos", "4. Solicitudes de productos", 4,
            screen="screens.branch.staff_requests:StaffRequestsScreen", audience="atencion",
            aliases=("créditos", "aprobar solicitud"),
            help="Solicitudes de «Solicita tus Productos»: tómala en revisión, apruébala (abre el producto y "
                 "mueve el dinero) o recházala con un motivo. Sobre el umbral aprueba otra persona."),
    Section("aprobaciones", "1. Aprobaciones", 1, screen="screens.branch.staff_approvals:ApprovalsScreen",
            audience="supervisor", help="Operaciones que esperan tu aprobación: retiros altos, cambios de celular."),
    Section("cajas", "2. Cajas del día", 2, screen="screens.branch.staff_approvals:TillsScreen",
            audience="supervisor", help="Las cajas abiertas y cerradas del día de negocio."),
    Section("cierre_dia", "3. Cierre del día", 3, screen="screens.branch.staff_eod:EndOfDayScreen",
            audience="supervisor", help="Cierra el día de negocio: cajas cerradas, liquidación, verificación, informe."),
    Section("mensajes_socios_supervisor", "4. Mensajes de socios", 4,
            screen="screens.branch.staff_contact:StaffContactScreen", audience="supervisor", aliases=("reclamos",),
            help="La cola de mensajes de «Contacto» (reclamos por su plazo legal): responde y cierra casos."),
    Section("solicitudes_productos_supervisor", "5. Solicitudes de productos", 5,
            screen="screens.branch.staff_requests:StaffRequestsScreen", audience="supervisor",
            aliases=("créditos", "aprobar solicitud"),
            help="Solicitudes de productos de los socios: revisa, aprueba o rechaza con motivo; sobre el umbral "
                 "apruebas lo que revisó otra persona."),
    Section("bitacora", "1. Bitácora de auditoría", 1, screen="screens.branch.staff_audit:AuditLogScreen",
            audience="auditor", help="La bitácora con filtros por usuario, socio, acción y fecha; exporta a CSV."),
    Section("movimientos_socio", "2. Movimientos de un socio", 2, screen="screens.branch.staff_audit:MemberMovementsScreen",
            audience="auditor", help="Los movimientos de cualquier cuenta de un socio, de solo lectura."),
    Section("resu", "1. Reporte RESU (UAFE)", 1, screen="screens.branch.staff_uafe:ResuScreen",
            audience="cumplimiento", aliases=("UAFE", "lavado de activos", "umbral"),
            help="Las operaciones en efectivo del mes que llegan al umbral (solas o sumadas por quien trae el "
                 "efectivo), con identificaciones completas; cada consulta queda en la bitácora. El archivo "
                 "para la UAFE se exporta con «cooprogreso uafe»."),
]


def by_key(key: str) -> Section:
    for section in SECTIONS:
        if section.key == key:
            return section
    raise KeyError(key)


def menu_for(audience: str) -> list[Section]:
    return [s for s in SECTIONS if s.audience == audience and s.menu]


def reachable_for(audience: str) -> list[Section]:
    """Every entry that opens a screen, menu row or not (the command palette offers them all)."""
    return [s for s in SECTIONS if s.audience == audience and s.screen]


def screen_for(key: str) -> Screen:
    section = by_key(key)
    if section.screen is None:
        from screens.menu.sections import NotAvailableScreen

        return NotAvailableScreen(section)
    module, _, name = section.screen.partition(":")
    screen = getattr(importlib.import_module(module), name)(*section.args)
    screen.section_key = key  # F1 shows this entry's help (one class may serve several entries)
    return screen
